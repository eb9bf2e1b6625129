// Package sip is the gateway's SIP user agent, built on sipgo.
//
// A UA registers the gateway's address of record to the PBX with digest
// authentication and keeps it registered (refresh at half the granted
// expiry, exponential backoff with jitter after failures, recovery after a
// PBX restart or outage within seconds). The granted expiry is the one on
// our own Contact among those the 2xx lists (else its Expires header); a
// 423's Min-Expires is asked for from then on; a 403 or 404 is asked again
// only after sip.refused_retry or a Reconfigure. It keeps one subscription per
// monitored URI and event package however many widgets use that URI, and
// reports what it hears to a Handler. It accepts requests only from trusted
// PBX source addresses. With tracing on, every SIP message is logged.
//
// The UA knows nothing of widgets: callers say which subscriptions they want
// with SetSubscriptions and the UA reconciles.
//
// Use:
//
//	ua, err := sip.New(cfg.SIP, handler, sip.Options{Logger: log, Trace: trace})
//	ua.SetSubscriptions(targets)  // any time, also before Run
//	go ua.Run(ctx)                // binds, registers, subscribes; on ctx end
//	<-ua.Ready()                  // unregisters and unsubscribes, then returns
//	ua.LocalAddr(); ua.Status()
//	err = ua.Reconfigure(newCfg.SIP) // ErrRestartRequired for transport changes,
//	                                 // then Status().Warning says so until undone
//
// One UA is one sipgo UserAgent, Server and Client sharing one transport;
// MESSAGE and INVITE legs use the same ones. Incoming requests all pass
// through one router (route.go): trust check, then one case per method
// (OPTIONS answers 200, NOTIFY is matched to a subscription dialog, MESSAGE
// goes to the handler's Message when it is a MessageHandler, the methods of
// call legs go to their leg, others get 405).
//
// Chat: SendMessage sends a MESSAGE (RFC 3428) from the registered identity
// (or a subaddress user) with digest answers and returns the final status;
// incoming MESSAGEs are bounded, their charset decoded, and answered with
// what the MessageHandler returns. IncomingMessage says which transport it
// came over. With transport tcp or tls the UA binds no UDP socket, and a
// MESSAGE that came over UDP anyway is refused with 403: an agent's reply
// is believed by its source address, which over UDP anyone can forge. Run
// warns when chat replies arrive over UDP. Addresses (From, To,
// Request-URI) are normalized by the one rule of package sipaddr.
//
// Recovery (keepalive.go): every keepalive interval (sip.keepalive_interval,
// 10 s) the UA probes the PBX. While registered to a registrar that lists
// our contact in its REGISTER answers, the probe is a binding query, a
// REGISTER without Contact (RFC 3261 10.2.3) that any registrar answers
// with the bindings it holds; otherwise it is an OPTIONS, where any final
// response counts. This is how a restart is told apart from a PBX that
// merely answers: a PBX with in-memory registrations and subscriptions
// (Kamailio's usrloc and presence) comes back answering OPTIONS, but
// without our binding. Then, and when the PBX answers again after two
// unanswered probes, the UA registers again at once and, once registered,
// subscribes every target anew (new dialogs, no SubscriptionLost: the state
// stands until the new NOTIFYs), spread at most 50 ms apart and all within
// 10 s. Two unanswered probes in a row mark the registration failed
// (ErrPBXUnreachable) and every subscription lost, so health says so and
// agents show unavailable. A subscription refresh answered 481 starts a
// probe at once; with a registrar that cannot be queried it is taken as a
// restart. Registrars that answer queries with an error, or keep leaving
// out a binding they just granted, are probed with OPTIONS from then on;
// restarts are then noticed by outages and 481s.
//
// UDP: messages up to 8 KiB are sent over UDP (sipgo alone stops at 1300
// bytes; video INVITEs with SDES keys pass that).
//
// Trust: TrustedSources (IPs or CIDRs) or, when empty, the addresses the
// registrar and outbound proxy resolve to when Run starts (or on
// Reconfigure). Requests from elsewhere get 403. The check runs in the
// transport's read path (inbound.go), before sipgo parses: a UDP datagram
// from elsewhere that is not SIP is dropped, counted and logged at debug
// level only, and TCP connections from elsewhere are closed when accepted.
// Responses from elsewhere pass (in-dialog requests may go to a phone's
// Contact). Whatever sipgo logs of bad input is cut to 200 bytes, and its
// parse failures are counted. Status.Rejected counts by reason.
//
// Subscriptions (RFC 6665): each is a dialog whose NOTIFYs are matched by
// Call-ID and our From tag, so a NOTIFY that beats the SUBSCRIBE's 2xx is
// accepted. A terminated NOTIFY, a failed refresh (481, timeout, any
// non-2xx) or a refused initial SUBSCRIBE reports SubscriptionLost and
// subscribes again later. NOTIFY bodies are bounded (64 KiB, else 413);
// out-of-order NOTIFYs get 500.
//
// Backoff (backoff.go), per Target: a refusal by policy or for lack of the
// package (403, 404, 489 to the SUBSCRIBE; terminated as rejected,
// noresource or invariant) is asked again only after sip.refused_retry (an
// hour) and reported with ErrRefused; other failures (no answer, 4xx, 5xx,
// giveup, probation) wait 1 s doubling up to sip.subscribe_backoff_max (an
// hour), with jitter; terminated as deactivated or timeout subscribes again
// at once, then backs off if it keeps happening. Retry-After is honoured up
// to the cap. A failure is logged and reported to the Handler when it
// differs from the last one (a refusal after a refusal does not), so a
// refusal is logged once however often it is asked again. Status.Degraded
// lists the failing subscriptions and why; Status.SubscribeFailures counts
// failures by reason. Every SUBSCRIBE the UA sends (initial, refresh,
// unsubscribe, digest retry) takes a slot of one pacer per UA, at least
// 1/sip.subscribe_rate after the previous one went out, so however many
// targets start, refresh or recover together the PBX never sees more than
// the rate; refreshes come at 40-50 % of the granted expiry, so
// subscriptions made together drift apart. The PBX's latest challenge to a
// SUBSCRIBE is answered in advance for 30 s (auth.go challengeCache), so a
// burst of subscriptions costs one request each, not two. At shutdown each
// unsubscribe waits at most 2 s for its slot; the rest expire at the PBX.
//
// Resource lists (list.go, RFC 4662): with sip.resource_list the UA keeps
// one subscription per event package to the list URI (Supported:
// eventlist; a 2xx without Require: eventlist means the PBX has no such
// list) and splits its multipart/related NOTIFYs (package eventlist) into a
// Notification per Target, matched by address (sipaddr.Key). Until the
// first full state has settled (a grace of 2 s for servers that split full
// state over several NOTIFYs) every Target of that package counts as
// covered; then a wanted Target the list does not name, or whose instance
// the list server reports terminated, is subscribed on its own, and one the
// list names later moves back onto it (its own dialog is unsubscribed
// quietly). While the list fails (refused, not a list, no full state within
// 10 s, terminated, unreadable bodies) every Target has its own
// subscription and the list is asked again with the usual backoff; a
// refusal of the list is not a refusal of the agents' packages. List
// NOTIFYs are taken in any CSeq order: each resource keeps the state of the
// highest RLMI version that named it, and a version still missing a grace
// after a later one makes the UA refresh the list for full state. Wanted
// members the list holds but has sent no state of make it refresh the list
// too, 5 s after the full state settled, then at doubling waits up to 5
// minutes while some still have none (a busy Kamailio rls has been seen to
// drop members' states; on a refresh it sends them again). List bodies are
// bounded at 1 MiB (others at 64 KiB), 4096 parts and resources,
// sub-lists three deep. A list counts once for sip.subscribe_rate and is
// renewed as one after a PBX restart. Status.Lists shows each list's state
// and members.
//
// Ordering (deliver.go): sipgo handles each request on a goroutine of its
// own, so what the Handler hears about a Target goes through one queue per
// Target, drained by whichever goroutine finds it idle: NOTIFYs in the order
// their CSeqs were accepted, SubscriptionLost after them, never two calls
// at once for one Target. A Target dropped by SetSubscriptions is reported
// with ErrSubscriptionRemoved, so its state is forgotten rather than shown
// again when it comes back.
//
// Transports: UDP and TCP listen on cfg.Listen (port 0 picks one; see
// LocalAddr). On UDP requests are sent from the listening socket. Contact
// and Via carry cfg.PublicAddress, else the bound address (or, when bound
// to 0.0.0.0, the local address toward the registrar); Via carries rport.
//
// TLS (tls.go): the PBX's certificate is verified in VerifyConnection
// against sip.tls_ca (else the system's roots) and the name the PBX is
// configured by, the outbound proxy's host, else the registrar's, as the
// settings say at each handshake (Reconfigure changes it): in-dialog
// requests go to the addresses a Record-Route or Contact names, not to the
// name in the certificate. sip.tls_insecure skips this. With sip.tls_cert
// the UA listens for TLS on cfg.Listen (trust checked before the
// handshake, which is bounded at 5 s), its Contact names the listener, and
// the certificate is also presented when the PBX asks for a client
// certificate; internal/tlscert takes renewed files into use, and
// Status.TLSCert shows the one in use. Without a certificate nothing is
// bound and the PBX must reach the gateway over the connection the gateway
// opened (the Contact has no port). A REGISTER over TLS that got no SIP
// answer is explained by a TLSError (untrusted CA, wrong name, expired, a
// client certificate missing or refused): since TLS 1.3 servers refuse a
// client certificate only after the client's handshake, the UA opens one
// connection of its own (diagnoseTLS) and reads what the PBX says. With a
// sips: registrar the UA's address of record, the REGISTER's Request-URI
// and the Contact are sips: URIs (transport TLS, no transport parameter);
// targets keep their own scheme. The keepalive probes keep the TLS
// connection in use; sipgo answers CRLF pings (RFC 5626).
//
// Call legs: UA.Call places an outgoing call (the INVITE client side of
// the B2BUA) and returns a Leg once the INVITE is sent; the call that
// bridges media (package bridge) owns the Leg and hears about it through
// CallEvents, always on the leg's own goroutine, which owns all of its
// state. The INVITE comes from the registered identity with the visitor's
// sanitized name as From display name and the CallRequest's headers (only
// Subject, Call-Info and Alert-Info, one line each; call_headers.go), is routed like every other request
// (outbound proxy, else the registrar's address), answers digest
// challenges and 422, offers session timers (RFC 4028; a 2xx interval below
// our Min-SE of 90 s is taken as 90 s, a PBX refresh below it gets 422, a
// challenged refresh of ours is answered), and follows the
// first 2xx: ACK, remote target from its Contact, route set from its
// Record-Route; a 2xx from another fork is ACKed and ended with BYE. The
// PBX's in-dialog requests reach the leg through route.go (trust check
// first): BYE ends it, re-INVITE and UPDATE offers go to Reoffer, a
// re-INVITE without SDP to OfferRequest and then Reanswer, INFO DTMF to
// DTMF; requests for unknown dialogs get 481 and INVITEs outside a dialog
// 403, since the gateway takes no calls. Hangup sends CANCEL (after the
// first provisional response) or BYE; Ended is reported exactly once with
// an EndCause mapped from the SIP status (see call_cause.go). When Run's
// context ends every live leg is hung up, bounded, before unregistering.
// CallEvents methods must not call Hangup or SendDTMF themselves: the leg's
// goroutine is the one running them. Reinvite sends a new offer of ours
// (hold, resume) in a re-INVITE and returns the answer; it travels as the
// leg's refresh transaction, so it never crosses a session refresh.
//
// Transfers (refer.go, RFC 3515, RFC 3891, RFC 5589): a REFER in an
// answered leg's dialog (so from a trusted source, with the dialog's tags)
// is checked before anything is placed: exactly one Refer-To, a sip: or
// sips: URI of at most 1 KiB without control characters, maddr or a method
// other than INVITE; its only header used is an escaped Replaces (other
// headers are never copied into the new INVITE); its host must be allowed
// by sip.transfer (default: the SIP domain, the registrar's and the
// outbound proxy's hosts). Refusals get 400 or 403 with a reason and the
// call goes on; a second REFER while one is under way gets 491; CallEvents
// without TransferEvents get 501. An accepted one gets 202 and a NOTIFY
// (Event: refer;id=<CSeq>, message/sipfrag "SIP/2.0 100 Trying");
// NotifyTransfer reports progress and the final status, which ends the
// implicit subscription (Refer-Sub: false turns the NOTIFYs off).
// CallRequest.Replaces and ReferredBy put those headers into a new leg's
// INVITE; Leg.PeerName is who answered it (P-Asserted-Identity, else To).
//
// Options sends an OPTIONS to the registrar or to a user's address (the
// doctor's reachability checks).
//
// Hand-off (call_handoff.go): an answered Leg's Dialog returns its
// identifiers (Call-ID, tags, URIs, remote target, route set, last local
// CSeq), and UA.Bye ends such a dialog from another UA: in a cluster a
// surviving node ends the PBX leg of a call whose node died.
//
// Tracing (Options.Trace) hooks this UA's transport read path and its own
// send path rather than sipgo's process-wide sip.SIPDebug; see trace.go.
// SetTraceTap hands the same messages to a function (the admin view's live
// trace) while one is set, with or without Options.Trace.
package sip
