// Package admin is the admin view: a read-only page for operators on the
// admin listener (never on the visitor port) that shows each widget's
// agents with their availability and why, open sessions, calls and chats,
// registration and subscription state, the last reload error and the
// warnings, and a live SIP trace filtered by agent.
//
// Routes (Server.Register adds them to the admin listener's mux):
//
//	GET  /admin/            the page (plain HTML, JS and CSS from the binary)
//	GET  /admin/login       the login page; POST checks the token
//	POST /admin/logout      forgets the session cookie
//	GET  /admin/api/state   the state as JSON
//	GET  /admin/api/trace   the live SIP trace, server-sent events;
//	                        ?agent=WIDGET/AGENT filters it
//
// Access (auth.go): a verified client certificate (the admin listener's
// TLS asks for one with admin.client_ca), or the token (admin.token_env,
// token_file) as "Authorization: Bearer" or through the login page, which
// sets an HttpOnly, SameSite=Strict session cookie: an HMAC under a key
// derived from the token and a secret of this process, valid for 12 hours,
// so a changed token or a restart ends every session. Tokens are compared
// in constant time and login attempts are rate limited per address. With
// neither a token nor a client CA the view is served only when the
// listener is on a loopback address, to requests from loopback naming a
// loopback host (no DNS rebinding), and it says so. /livez, /readyz,
// /healthz and /metrics are not this package's: they stay open.
//
// Pages are served under a strict Content-Security-Policy (scripts,
// styles and connections from the page's own origin only, no inline code,
// no frames); the script builds the DOM with textContent, so agent names,
// notes and SIP messages (which come from outside) are never markup.
//
// The state (state.go) is read when asked: the config, presence.Store's
// Explain, the Tracker (what the PBX last said per subscription: NOTIFY
// times, Subscription-State, the body, losses), the UA's status and
// /healthz's document. The trace (trace.go) taps the UA only while at
// least one page watches (sip.UA.SetTraceTap), fans each message out to
// at most maxWatchers watchers through bounded queues (a slow page loses
// messages and is told how many), hides digest responses, and ends every
// stream when the server shuts down.
package admin
