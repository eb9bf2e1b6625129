// Package chat carries chats between website visitors and agents over SIP
// MESSAGE (RFC 3428), with typing indicators (RFC 3994), and delivers
// "leave a message" requests when nobody is available.
//
// Use:
//
//	m := chat.NewManager(chat.Options{Config: cfg.Chat, Sender: ua, Username: cfg.SIP.Username, Domain: domain, Log: log})
//	go m.Run(ctx)                    // timers; on ctx end every chat ends
//	sip.New(cfg.SIP, handler, ...)   // handler forwards Message(in) to m.Message
//	a, err := m.Open(visitor, sink)  // ErrAgentBusy when the agent's slots are full
//	a.Send(clientID, text)           // result later as an EventDelivery
//	a.Ack(seq)                       // the widget has shown everything up to seq
//	a.Typing(true); a.Detach(); a.Close()
//	b, err := m.Resume(a.Token(), widgetID, lastSeq, sink2) // a's sink gets EventMoved
//	m.LeaveMessage(ctx, widget.Fallback, widget.ID, chat.LeftMessage{...})
//
// Stop the Manager (cancel Run's context and wait for Run) before the SIP
// UA: ending chats sends one last MESSAGE to each agent.
//
// # Outgoing
//
// Each chat's first MESSAGE to the agent is a notice: "[New chat from
// “Ann” via Sales. Your replies go to this visitor until the chat ends.]"
// (with subaddress routing: "Replies to this conversation go to this
// visitor."). Each visitor message becomes a MESSAGE from the gateway's
// registered identity to the agent, with the visitor's name as From display
// name and text/plain;charset=UTF-8, sent only once the agent's client
// accepted the notice (it is tried again before each text until then; a
// text it fails for fails with its reason). Each chat has one goroutine
// that sends its queue in order, so delivery results arrive in the order
// of Send:
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
// another visitor's conversation. Two modes (config chat.reply_routing);
// "subaddress" is the one to use wherever the PBX can route it:
//
//   - "agent" (default, any PBX): an agent chats with one visitor at a
//     time; other visitors get ErrAgentBusy. A reply belongs to the chat
//     whose agent address equals the MESSAGE's From user@host (lower case,
//     no port or parameters). The agent URI configured for the widget must
//     therefore be the address the PBX puts in From (same user and domain).
//     Since the sender alone decides, the boundary between two chats of an
//     agent is guarded (handover.go): the new chat's notice waits for the
//     previous chat's end notice, replies count only once the agent's
//     client accepted the notice and, when the agent's previous chat ended
//     less than 5 minutes before, chat.handover (15 s) more has passed; an
//     earlier reply is refused with 480, shown to nobody, and the agent is
//     told to send it again if it was for the new visitor. A reply after a
//     chat ended reaches nobody (404) and the agent is told (at most 3
//     times). So a reply typed for the visitor who just left never reaches
//     the next one, unless the agent sends it after having the end and
//     start notices on screen for the hand-over.
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
// a dialog, and a MESSAGE is not. A reply that reached a chat gets 200: it
// is held by the chat (see Nothing lost) and written to the visitor's
// connection; 202 when the visitor is reconnecting and it is held for
// them; 480 when the chat holds as much unconfirmed as it may, or the reply
// fell into the hand-over. A chat opened under one mode keeps it when the
// config changes.
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
// Agent messages and delivery results get per-chat sequence numbers (Seq,
// from 1) and are kept until the widget acknowledges them (Ack, or the
// number a Resume names): a websocket that went half-open swallows what is
// written to it without an error, so what counts is what the widget
// confirmed, not what was written. Resume replays every kept event after
// the number the widget saw, in order and before anything new; the widget
// drops numbers it has shown. A chat keeps at most 200 unacknowledged
// events (counting the results still to come for queued texts) and 256 KiB
// of unacknowledged agent text; beyond that the agent's next reply gets 480
// and the visitor's next Send ErrRateLimited, until the widget confirms.
// Acknowledged events stay while there is room, for a tab that resumes
// with an older number. A Send whose client id is among the chat's last 64
// is a resend and is not sent again.
//
// One attachment holds a chat: Resume moves it to a new sink and the old
// one gets EventMoved; the old Attachment's Send, Ack and Close return
// ErrMoved and its Detach does nothing, so a duplicated browser tab takes
// the chat over, the other tab is told, and a late Detach from a dead
// connection cannot cut off the live one. Resume changes nothing when the
// token is unknown, ended, or of another widget.
//
// Detach starts a grace period (resume_grace). When it ends the agent gets
// "[The visitor left the chat.]", the token stops working and the agent's
// slot is free. Close does the same at once with "[The visitor ended the
// chat.]". Either notice adds how many of the agent's messages the widget
// never confirmed ("; your last 2 messages did not reach them"). An agent
// whose client never accepted the new-chat notice is not told.
//
// # Cluster
//
// With Options.Shared (package cluster) a chat's state lives in the
// engine too, so any node can go on with it (shared.go): it is saved
// before an agent reply is answered 2xx and before a delivery result
// reaches the widget; tokens name their chat ("<id>.<secret>") so any node
// finds it. One node holds a chat at a time. Resume on another node takes
// it over (a live holder is asked to Release it first: it saves it for
// that node, stops without a word to the agent and tells its widget
// EventMoved); a reply reaching a node that does not hold its chat is
// forwarded to the holder, or, when no live node holds it, the node takes
// the chat over and keeps the reply (202) for the widget. A reply that
// waited for a chat while it moved follows it (statusMoved). Each MESSAGE
// (Call-ID, CSeq and From tag) is answered once: a node's own copies by
// Manager.once, and across nodes by the chat, which keeps the replies it
// answered in its record (replies.go), so a copy that reaches the chat on
// a later holder, forked or forwarded, gets the first answer and is shown
// to nobody. A reply for a chat another node holds gets 500 where it is
// not handled, so a forking proxy forwards the holder's answer. Chat slots per
// agent (max_per_agent, one with agent routing) and the hand-over after an
// agent's previous chat hold across nodes. ReleaseAll hands every chat to
// the cluster when a node stops; Adopt takes over a chat whose holder died
// (the cluster's sweep). While the engine is out of reach chats go on on
// their node, and new ones open there alone.
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
