package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/sip/sipaddr"
)

// Errors of SendMessage.
var (
	// ErrNotRunning means the UA's transport is not up (before Run).
	ErrNotRunning = errors.New("sip: UA not running")
	// ErrBodyTooLarge means a MESSAGE body exceeds MaxMessageBody.
	ErrBodyTooLarge = errors.New("sip: message body too large")
	// ErrBadURI means a destination or user part that cannot be used.
	ErrBadURI = errors.New("sip: bad URI")
	// ErrNoResponse means no final response came in time (reported as 408).
	ErrNoResponse = errors.New("sip: no final response")
)

// MaxMessageBody bounds a MESSAGE body in both directions; chat texts and
// isComposing documents are far smaller.
const MaxMessageBody = 16 << 10

// maxDisplayName bounds the From display name of outgoing MESSAGEs, in runes.
const maxDisplayName = 64

// Content types of MESSAGE bodies the UA sends and accepts.
const (
	ContentTypeText        = "text/plain"
	ContentTypeIsComposing = "application/im-iscomposing+xml"
)

// OutgoingMessage is one MESSAGE (RFC 3428) to send outside any dialog.
type OutgoingMessage struct {
	To string // request and To URI, e.g. sip:101@pbx.example.com
	// FromUser is the From user part; "" means the registered username. A
	// chat's subaddress (username+chatid) goes here.
	FromUser string
	// DisplayName is the From display name; SendMessage sanitizes it.
	DisplayName string
	ContentType string // full value, e.g. "text/plain;charset=UTF-8"
	Body        []byte
}

// IncomingMessage is a MESSAGE from the PBX, checked and decoded.
type IncomingMessage struct {
	From        string // sender by the one address rule (sipaddr AOR): sip:user@host, no port or params
	FromDisplay string
	To          string // To URI, normalized like From
	RequestURI  string // Request-URI, normalized like From
	ContentType string // media type, lower case, without parameters
	Charset     string // declared charset, lower case ("" when absent)
	// Transport is what the MESSAGE arrived over: "UDP", "TCP" or "TLS".
	// Over UDP its source address, which the UA trusts, is easy to forge.
	Transport string
	// Body is UTF-8 for text/plain (Latin-1 converted, invalid bytes
	// replaced by U+FFFD); XML bodies are passed as received since they
	// declare their own encoding.
	Body []byte
	// ID is the request's identity: Call-ID, CSeq number and From tag. A
	// proxy that forks the MESSAGE to several contacts sends each the same
	// ID, so a cluster can tell one reply arriving twice from two replies.
	ID string
}

// MessageHandler is implemented by a Handler that takes MESSAGE requests.
// Message returns the SIP status to answer with. It is called on the UA's
// goroutines and must not block.
type MessageHandler interface {
	Message(m IncomingMessage) int
}

// SendMessage sends m and returns the final status code. Digest challenges
// are answered; the request is routed like the UA's other out-of-dialog
// requests (outbound proxy, else registrar). A non-2xx final response
// returns its code with a *StatusError; no final response returns 408 with
// an error wrapping ErrNoResponse; a request that could not be sent returns
// 0 and an error.
func (u *UA) SendMessage(ctx context.Context, m OutgoingMessage) (int, error) {
	if u.client() == nil {
		return 0, ErrNotRunning
	}
	if len(m.Body) > MaxMessageBody {
		return 0, fmt.Errorf("MESSAGE to %s: %d bytes: %w", m.To, len(m.Body), ErrBodyTooLarge)
	}
	var to sip.Uri
	if err := sip.ParseUri(strings.TrimSpace(m.To), &to); err != nil || to.Host == "" {
		return 0, fmt.Errorf("MESSAGE to %q: bad URI: %w", m.To, errors.Join(err, ErrBadURI))
	}
	if m.FromUser != "" && !validUser(m.FromUser) {
		return 0, fmt.Errorf("MESSAGE from user %q: %w", m.FromUser, ErrBadURI)
	}
	s := u.settings()
	callID, fromTag := newCallID(), newTag()
	ctype := m.ContentType
	if ctype == "" {
		ctype = ContentTypeText + ";charset=UTF-8"
	}
	display := SanitizeDisplayName(m.DisplayName)
	var cseq uint32
	res, err := u.exchange(ctx, s, func() *sip.Request {
		cseq++
		req := u.outOfDialog(s, sip.MESSAGE, to, to, callID, fromTag, cseq)
		// RFC 3428: a MESSAGE creates no dialog, so it carries no Contact.
		req.RemoveHeader("Contact")
		from := req.From()
		from.DisplayName = display
		if m.FromUser != "" {
			from.Address.User = m.FromUser
		}
		req.AppendHeader(sip.NewHeader("Content-Type", ctype))
		req.SetBody(append([]byte(nil), m.Body...))
		return req
	})
	if err != nil {
		if res != nil { // an auth failure still has a final response
			return res.StatusCode, fmt.Errorf("MESSAGE to %s: %w", m.To, err)
		}
		if ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) && !isTxTimeout(err) {
			return 0, fmt.Errorf("MESSAGE to %s: %w", m.To, err)
		}
		return sip.StatusRequestTimeout, fmt.Errorf("MESSAGE to %s: %w: %w", m.To, ErrNoResponse, err)
	}
	if !res.IsSuccess() {
		return res.StatusCode, statusError("MESSAGE", res)
	}
	return res.StatusCode, nil
}

// isTxTimeout reports a transaction that timed out (Timer F) rather than a
// transport failure.
func isTxTimeout(err error) bool {
	return errors.Is(err, sip.ErrTransactionTimeout)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// validUser accepts the user-part characters a subaddress needs; anything
// that could break the From header is refused.
func validUser(s string) bool {
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.!~*'()&=+$,;?/", r) {
			continue
		}
		return false
	}
	return s != ""
}

// SanitizeDisplayName makes a visitor-chosen name safe inside a quoted
// display name: invalid UTF-8 replaced, quotes, backslashes and control
// characters dropped, spaces collapsed, at most 64 runes.
func SanitizeDisplayName(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	n, space := 0, false
	for _, r := range s {
		if unicode.IsSpace(r) && r != '\u2028' && r != '\u2029' {
			space = b.Len() > 0
			continue
		}
		if r == '"' || r == '\\' || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			continue
		}
		if space {
			if n+1 >= maxDisplayName {
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		if n >= maxDisplayName {
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// onMessage checks a MESSAGE from the PBX and hands it to the
// MessageHandler, answering with the status it returns.
func (u *UA) onMessage(req *sip.Request, tx sip.ServerTransaction) {
	mh, ok := u.h.(MessageHandler)
	if !ok {
		u.respond(tx, req, sip.StatusTemporarilyUnavailable, "Messaging Not Available")
		return
	}
	if code, reason := u.transportRefusal(req); code != 0 {
		u.rejected.add(RejectTransport)
		u.log.Warn("sip MESSAGE over UDP refused: the gateway uses TCP or TLS", "source", req.Source())
		u.respond(tx, req, code, reason)
		return
	}
	in, code, reason := incomingMessage(req)
	if code != 0 {
		u.log.Debug("sip MESSAGE refused", "source", req.Source(), "code", code, "reason", reason)
		var hdrs []sip.Header
		if code == sip.StatusUnsupportedMediaType {
			hdrs = append(hdrs, sip.NewHeader("Accept", ContentTypeText+", "+ContentTypeIsComposing))
		}
		u.respond(tx, req, code, reason, hdrs...)
		return
	}
	code = mh.Message(in)
	if code < 200 || code > 699 {
		u.log.Warn("sip MESSAGE handler returned an invalid status", "code", code)
		code = sip.StatusInternalServerError
	}
	u.respond(tx, req, code, statusReason(code))
}

// transportRefusal refuses a MESSAGE that came over UDP while the gateway
// is set to TCP or TLS: there the PBX reaches the gateway over a connection,
// whose source a sender off the path cannot forge, and a UDP MESSAGE
// claiming to be an agent's reply is not to be believed. (The UA binds no
// UDP socket then; this holds whatever sipgo might accept.)
func (u *UA) transportRefusal(req *sip.Request) (int, string) {
	if u.settings().transport != "UDP" && strings.EqualFold(req.Transport(), "UDP") {
		return sip.StatusForbidden, "MESSAGE Over UDP Not Accepted"
	}
	return 0, ""
}

// incomingMessage decodes req, or returns the error status to answer with.
func incomingMessage(req *sip.Request) (IncomingMessage, int, string) {
	body := req.Body()
	if len(body) > MaxMessageBody {
		return IncomingMessage{}, sip.StatusRequestEntityTooLarge, "Message Too Large"
	}
	ctype := firstValue(req, "Content-Type")
	in := IncomingMessage{
		ContentType: mediaType(ctype),
		Charset:     strings.ToLower(strings.Trim(contentParam(ctype, "charset"), `" `)),
		RequestURI:  normalizeURI(req.Recipient),
		Transport:   strings.ToUpper(req.Transport()),
	}
	if f := req.From(); f != nil {
		in.From = normalizeURI(f.Address)
		in.FromDisplay = strings.ToValidUTF8(f.DisplayName, "\uFFFD")
		tag, _ := f.Params.Get("tag")
		if cid, cseq := req.CallID(), req.CSeq(); cid != nil && cseq != nil {
			in.ID = cid.Value() + " " + strconv.FormatUint(uint64(cseq.SeqNo), 10) + " " + tag
		}
	}
	if t := req.To(); t != nil {
		in.To = normalizeURI(t.Address)
	}
	if in.From == "" {
		return in, sip.StatusBadRequest, "Missing From"
	}
	body, ok := DecodeMessageBody(in.ContentType, in.Charset, body)
	if !ok {
		return in, sip.StatusUnsupportedMediaType, "Unsupported Media Type"
	}
	in.Body = body
	return in, 0, ""
}

// DecodeMessageBody checks a MESSAGE body's media type (lower case, no
// parameters) and charset and returns the body to deliver: text/plain as
// valid UTF-8 (Latin-1 converted, invalid bytes replaced), isComposing XML
// unchanged. ok is false for types and charsets the UA does not take.
func DecodeMessageBody(mediaType, charset string, body []byte) (out []byte, ok bool) {
	if len(body) > MaxMessageBody {
		return nil, false
	}
	switch mediaType {
	case ContentTypeIsComposing:
		return append([]byte(nil), body...), true
	case ContentTypeText:
	default:
		return nil, false
	}
	switch charset {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return []byte(strings.ToValidUTF8(string(body), "\uFFFD")), true
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1":
		out = make([]byte, 0, len(body)+len(body)/4)
		for _, b := range body {
			out = utf8.AppendRune(out, rune(b))
		}
		return out, true
	}
	return nil, false
}

// contentParam returns parameter name of a header value like
// "text/plain; charset=UTF-8".
func contentParam(v, name string) string {
	parts := strings.Split(v, ";")
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(val)
		}
	}
	return ""
}

// normalizeURI is scheme:user@host by the one SIP address rule (package
// sipaddr): what chat compares agent addresses by. "" when u is not a SIP
// address.
func normalizeURI(u sip.Uri) string {
	a, err := sipaddr.New(u.Scheme, u.User, u.Host, 0)
	if err != nil {
		return ""
	}
	return a.AOR()
}

func statusReason(code int) string {
	switch code {
	case sip.StatusOK:
		return "OK"
	case sip.StatusAccepted:
		return "Accepted"
	case sip.StatusForbidden:
		return "Forbidden"
	case sip.StatusNotFound:
		return "No Such Chat"
	case sip.StatusTemporarilyUnavailable:
		return "Temporarily Unavailable"
	case sip.StatusUnsupportedMediaType:
		return "Unsupported Media Type"
	case sip.StatusRequestEntityTooLarge:
		return "Message Too Large"
	case sip.StatusBadRequest:
		return "Bad Request"
	}
	if code >= 200 && code < 300 {
		return "OK"
	}
	return "Not Accepted"
}
