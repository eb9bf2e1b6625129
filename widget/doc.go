// Package widget serves the Widget-API (docs/protocol.md) over websocket and
// the widget's web assets: the script (assets/frontdesk.js with its parts
// joined, see assets.go), the call part it loads on the first call
// (/frontdesk-call.js), the preview page and the call window.
//
// A Server owns the visitor sessions. Each session is one websocket; an idle
// one holds a single goroutine (session.run), blocked reading, so tens of
// thousands of idle visitors cost little memory. Visitor messages, presence
// and config changes (a presence Hub WatchFunc), call and chat events (the
// session's mailbox), pings and shutdown are events that start the
// session's worker, a goroutine that handles what is pending and ends; at
// most one runs at a time, so the session's state has one owner. Calls go to
// a Calls implementation (the bridge engine), chats to a chat.Manager.
//
// What a visitor may do is bounded before anything reaches the PBX:
//   - Origins: a session starts only from a page origin the widget allows,
//     or from the gateway's own http.public_url (its preview and call
//     pages). The Host a request names is never trusted for that (DNS
//     rebinding).
//   - Client addresses: per-address limits key on the visitor's address,
//     which behind trusted reverse proxies comes from their headers or the
//     PROXY protocol (internal/clientaddr); from anyone else the socket's.
//   - Limits: sessions in total and per address (refused with HTTP 503 and
//     counted by reason, see Refused), message size and rate, the time to
//     Start, and how often calls, chats and left messages start (retry-later,
//     internal/ratelimit).
//   - Errors: every Error text is a short sentence for the browser console,
//     never a Go error (errText).
//   - The call window (/call/<widget>) places a call only when the visitor
//     clicks its button, so a link cannot ring anyone.
package widget
