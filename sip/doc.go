// Package sip is the gateway's SIP user agent, built on sipgo.
//
// A UA registers the gateway's address of record to the PBX with digest
// authentication and keeps it registered (refresh at half the granted
// expiry, exponential backoff with jitter after failures, recovery after a
// PBX restart). It keeps one subscription per monitored URI and event
// package however many widgets use that URI, and reports what it hears to a
// Handler. It accepts requests only from trusted PBX source addresses. With
// tracing on, every SIP message is logged.
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
//	err = ua.Reconfigure(newCfg.SIP) // ErrRestartRequired for transport changes
//
// One UA is one sipgo UserAgent, Server and Client sharing one transport;
// MESSAGE and INVITE legs will use the same ones. Incoming requests all pass
// through one router (route.go): trust check, then one case per method
// (OPTIONS answers 200, NOTIFY is matched to a subscription dialog, other
// methods get 405).
//
// Trust: TrustedSources (IPs or CIDRs) or, when empty, the addresses the
// registrar and outbound proxy resolve to when Run starts (or on
// Reconfigure). Requests from elsewhere get 403.
//
// Subscriptions (RFC 6665): each is a dialog whose NOTIFYs are matched by
// Call-ID and our From tag, so a NOTIFY that beats the SUBSCRIBE's 2xx is
// accepted. A terminated NOTIFY, a failed refresh (481, timeout, any
// non-2xx) or a refused initial SUBSCRIBE reports SubscriptionLost and
// subscribes again with backoff, never sooner than Retry-After. NOTIFY
// bodies are bounded (64 KiB, else 413); out-of-order NOTIFYs get 500.
//
// Transports: UDP and TCP listen on cfg.Listen (port 0 picks one; see
// LocalAddr). On UDP requests are sent from the listening socket. TLS is
// client-only: nothing is bound and the PBX must reach the gateway over the
// connection the gateway opened. Contact and Via carry cfg.PublicAddress,
// else the bound address (or, when bound to 0.0.0.0, the local address
// toward the registrar); Via carries rport.
//
// Tracing (Options.Trace) hooks this UA's transport read path and its own
// send path rather than sipgo's process-wide sip.SIPDebug; see trace.go.
package sip
