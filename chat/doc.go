// Package chat carries chats between website visitors and agents over SIP
// MESSAGE (RFC 3428), with typing indicators (RFC 3994), and delivers
// "leave a message" requests when nobody is available.
//
// Use:
//
//	m := chat.NewManager(chat.Options{Config: cfg.Chat, Sender: ua, Username: cfg.SIP.Username, Domain: domain, Log: log})
//	go m.Run(ctx)                    // timers; on ctx end every chat ends
//	sip.New(cfg.SIP, handler, ...)   // handler forwards Message(in) to m.Message
//	c, err := m.Open(visitor, sink)  // ErrAgentBusy when the agent's slots are full
//	c.Send(clientID, text)           // result later as an EventDelivery
//	c.Typing(true); c.Detach(); m.Resume(c.Token(), sink2); c.Close()
//	m.LeaveMessage(ctx, widget.Fallback, widget.ID, chat.LeftMessage{...})
//
// Stop the Manager (cancel Run's context and wait for Run) before the SIP
// UA: ending chats sends one last MESSAGE to each agent.
//
// # Outgoing
//
// Each visitor message becomes a MESSAGE from the gateway's registered
// identity to the agent, with the visitor's name as From display name and
// text/plain;charset=UTF-8. Each chat has one goroutine that sends its
// queue in order, so delivery results arrive in the order of Send:
// delivered (2xx) or failed with a reason: offline (404, 410, 480, 604),
// timeout (no final response within send_timeout, or 408), rejected (any
// other error status), error (not sent at all). Limits (length, messages
// per minute, chats per agent) are checked in Send and Open and returned as
// errors; the PBX never sees a message that breaks them.
//
// Typing: the agent gets at most one "active" isComposing per minute while
// the visitor types (announcing a 90 s refresh), and one "idle" when typing
// stops, 15 s pass without typing, or the visitor detaches. The agent's
// "active" is shown until "idle", a text, or its refresh interval (default
// 120 s) passes.
//
// # Reply matching
//
// A reply from the agent is a MESSAGE from the PBX to the gateway. Which
// chat it belongs to must never be guessed, or a visitor could read
// another visitor's conversation. Two modes (config chat.reply_routing):
//
//   - "agent" (default, any PBX): an agent chats with one visitor at a
//     time; other visitors get ErrAgentBusy. A reply belongs to the chat
//     whose agent address equals the MESSAGE's From user@host (lower case,
//     no port or parameters). The agent URI configured for the widget must
//     therefore be the address the PBX puts in From (same user and domain).
//   - "subaddress": each chat sends with its own From user
//     "<username>+<chatid>" (e.g. frontdesk+k7x2q9@pbx.example.com), so the
//     agent's client replies to that address. A reply belongs to the chat
//     named by the To user, else the Request-URI user, and is refused with
//     403 unless its From is that chat's agent. Several visitors can chat
//     with the same agent (max_per_agent). A reply without a chat id is
//     refused, not guessed.
//
// A MESSAGE that belongs to no live chat (ended, expired, unknown id)
// gets 404 "No Such Chat" and is logged; 481 is meant for requests inside
// a dialog, and a MESSAGE is not. A reply that reached a chat gets 200;
// 202 when the visitor is reconnecting and it was buffered; 480 when that
// buffer (200 messages) is full. A chat opened under one mode keeps it
// when the config changes.
//
// # PBX setting for subaddresses
//
// The PBX must deliver MESSAGEs for username+anything to the gateway's
// registration and keep the full user part in To:
//
//   - Kamailio: before lookup("location"), strip the suffix from the
//     Request-URI user when it starts with the gateway's username, e.g.
//     if ($rU =~ "^frontdesk\+") { $rU = $(rU{s.select,0,+}); } — To is
//     untouched. With auth_check/proxy_authorize checking that the From
//     user equals the auth user (the default "1" flag of auth_check), allow
//     the gateway's "+" From users too, or the gateway's MESSAGEs get 403.
//   - Asterisk (PJSIP): in the endpoint's message context, match
//     _frontdesk+. and MessageSend to the gateway's PJSIP endpoint keeping
//     the original To (MESSAGE_DATA(To)) so the +chatid survives.
//   - FreeSWITCH: a chatplan (or dialplan for MESSAGE) condition on
//     ^frontdesk\+ that delivers to the registered user frontdesk while
//     keeping the To header.
//
// Only the Kamailio form was written against a real PBX configuration;
// the Asterisk and FreeSWITCH ones say what to achieve.
//
// # Nothing lost
//
// Detach starts a grace period (resume_grace). Agent messages that arrive
// meanwhile are buffered (at most 200) and given to the new sink by Resume,
// in order and before anything new. When the grace period ends the agent
// gets "[The visitor left the chat.]", the token stops working and the
// agent's slot is free. Close does the same at once with "[The visitor
// ended the chat.]".
//
// # Leave a message
//
// LeaveMessage checks name, contact (email or phone, loosely) and text,
// then sends a MESSAGE to the fallback SIP URI and, when configured, POSTs
// JSON (LeftMessageJSON) to the webhook, both at once. The webhook is
// signed like Stripe's: X-Frontdesk-Timestamp is the attempt's unix time in
// seconds and X-Frontdesk-Signature is sha256=<hex HMAC-SHA256 of
// "<timestamp>.<body>">, so the timestamp cannot be changed without breaking
// the signature. A receiver recomputes the HMAC over the header's timestamp,
// a dot and the raw body, compares in constant time, then refuses a
// timestamp more than a few minutes from its clock (a replay), and may drop
// duplicates by the body's id (the same on every retry). It is retried with
// exponential backoff up to attempts, each bounded by timeout, each with a
// fresh timestamp and signature. LeaveMessage succeeds as soon as one
// destination answered 2xx.
package chat
