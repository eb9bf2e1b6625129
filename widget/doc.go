// Package widget serves the Widget-API (docs/protocol.md) over websocket and
// the widget's web assets: the script (assets/frontdesk.js with its parts
// joined, see assets.go), the call part it loads on the first call
// (/frontdesk-call.js), the preview page and the call window.
//
// A Server owns the visitor sessions. Each session is one websocket, run by
// one goroutine that owns its state (session.run); a reader goroutine only
// decodes messages and enforces the message rate. Presence and config
// changes reach sessions through the presence Hub; calls go to a Calls
// implementation (the bridge engine), chats to a chat.Manager.
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
