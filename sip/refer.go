package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Transfers (RFC 3515, RFC 5589): the PBX side of an answered call sends
// REFER in the call's dialog. The leg checks the request (refer.go), asks
// its CallEvents' Transfer, answers 202 and sends the NOTIFYs; placing the
// new leg is the bridge's.

var (
	// ErrBadReferTo means a Refer-To that is not one sip:/sips: URI with at
	// most a Replaces header.
	ErrBadReferTo = errors.New("sip: bad Refer-To")
	// ErrTransferNotAllowed means the policy (sip.transfer) refuses the
	// transfer: transfers are off, or the target's host is not one of the
	// allowed domains.
	ErrTransferNotAllowed = errors.New("sip: transfer not allowed")
	// ErrTransferPending means a transfer of this call is under way.
	ErrTransferPending = errors.New("sip: a transfer is under way")
	// ErrNoTransfer means NotifyTransfer was called without a transfer
	// under way.
	ErrNoTransfer = errors.New("sip: no transfer under way")
)

const (
	// maxReferTo bounds the Refer-To value (a URI with an escaped Replaces).
	maxReferTo = 1024
	// maxReferredBy bounds the Referred-By value passed on to the new leg.
	maxReferredBy = 256
	// referExpires is the implicit subscription's lifetime announced in
	// the NOTIFYs; the bridge bounds the transfer well within it.
	referExpires = 180
)

// Replaces names the dialog an attended transfer replaces (RFC 3891): the
// consultation call between the transferor and the transfer target.
type Replaces struct {
	CallID    string
	ToTag     string
	FromTag   string
	EarlyOnly bool
}

// String is the Replaces header value.
func (r Replaces) String() string {
	s := r.CallID + ";to-tag=" + r.ToTag + ";from-tag=" + r.FromTag
	if r.EarlyOnly {
		s += ";early-only"
	}
	return s
}

// Transfer is a REFER the PBX side sent in an answered call's dialog,
// checked: the leg to place instead of this one.
type Transfer struct {
	// Target is the transfer target: scheme, user, host and port of the
	// Refer-To URI (its parameters and other headers are not used).
	Target string
	// Name is the Refer-To's display name, sanitized ("" when none).
	Name string
	// Replaces is set for an attended transfer.
	Replaces *Replaces
	// ReferredBy is the REFER's Referred-By value (RFC 3892), bounded, for
	// the new INVITE ("" when none).
	ReferredBy string
}

// TransferEvents is implemented by CallEvents that take transfers. Transfer
// is called on the leg's goroutine for a REFER that passed the checks and
// the policy; it must return promptly. nil accepts it (202, then NOTIFY
// 100 Trying; the final NOTIFY is the caller's, through NotifyTransfer),
// an error declines it (603). Without it a REFER gets 501.
type TransferEvents interface {
	Transfer(t Transfer) error
}

// transferPolicy is sip.transfer, parsed: which hosts a Refer-To may name.
type transferPolicy struct {
	allow bool
	hosts []hostEntry
}

type hostEntry struct {
	host string // lower case, IPv6 without brackets
	port int    // 0: any port the URI leaves out only
}

// parseTransferPolicy builds the policy from sip.transfer. Without
// domains the gateway's SIP domain, the registrar's and the outbound
// proxy's hosts are allowed: the new leg goes to the same PBX.
func parseTransferPolicy(allow *bool, domains []string, s settings) (transferPolicy, error) {
	p := transferPolicy{allow: allow == nil || *allow}
	if len(domains) == 0 {
		domains = []string{s.aor.Host, s.registrar.Host}
		if s.proxy != nil {
			domains = append(domains, s.proxy.Host)
		}
	}
	for _, d := range domains {
		e, err := parseHostEntry(d)
		if err != nil {
			return p, fmt.Errorf("transfer domain %q: %w", d, err)
		}
		if !slices.Contains(p.hosts, e) {
			p.hosts = append(p.hosts, e)
		}
	}
	return p, nil
}

func parseHostEntry(v string) (hostEntry, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" || strings.ContainsAny(v, "@;?<> /") {
		return hostEntry{}, errors.New("want host or host:port")
	}
	e := hostEntry{host: v}
	if h, p, err := net.SplitHostPort(v); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return hostEntry{}, errors.New("bad port")
		}
		e.host, e.port = h, n
	}
	e.host = strings.TrimSuffix(strings.TrimPrefix(e.host, "["), "]")
	if e.host == "" {
		return hostEntry{}, errors.New("want host or host:port")
	}
	return e, nil
}

// permit says whether a transfer to u may be placed.
func (p transferPolicy) permit(u sip.Uri) error {
	if !p.allow {
		return fmt.Errorf("transfers are off (sip.transfer.allow): %w", ErrTransferNotAllowed)
	}
	host := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(u.Host, "["), "]"))
	for _, e := range p.hosts {
		if e.host == host && (u.Port == 0 || u.Port == e.port) {
			return nil
		}
	}
	return fmt.Errorf("target host %s is not an allowed transfer domain: %w", hostPortString(host, u.Port), ErrTransferNotAllowed)
}

func hostPortString(host string, port int) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == 0 {
		return host
	}
	return host + ":" + strconv.Itoa(port)
}

// ParseReferTo parses a Refer-To value (RFC 3515 2.1): a name-addr or
// addr-spec with a sip: or sips: URI, whose only header used is Replaces
// (escaped, RFC 3891 6.1). Other headers are ignored: they would be copied
// into the new INVITE, which the gateway builds itself. A method other
// than INVITE, an maddr parameter (it would redirect where the request
// goes) or a URI without a host is refused.
func ParseReferTo(v string) (Transfer, error) {
	var t Transfer
	v = strings.TrimSpace(v)
	if len(v) > maxReferTo {
		return t, fmt.Errorf("%d bytes, at most %d: %w", len(v), maxReferTo, ErrBadReferTo)
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return t, fmt.Errorf("control characters: %w", ErrBadReferTo)
	}
	addr := v
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return t, fmt.Errorf("unclosed <: %w", ErrBadReferTo)
		}
		t.Name = SanitizeDisplayName(strings.Trim(strings.TrimSpace(v[:i]), `"`))
		addr = v[i+1 : i+j]
	} else if strings.ContainsAny(v, "?, ") {
		// RFC 3261 20.10: an addr-spec with headers, parameters or commas
		// must be in angle brackets.
		return t, fmt.Errorf("a URI with headers must be in <>: %w", ErrBadReferTo)
	}
	uriPart, headers, _ := strings.Cut(addr, "?")
	lower := strings.ToLower(uriPart)
	if !strings.HasPrefix(lower, "sip:") && !strings.HasPrefix(lower, "sips:") {
		return t, fmt.Errorf("only sip: and sips: URIs: %w", ErrBadReferTo)
	}
	var u sip.Uri
	if err := sip.ParseUri(uriPart, &u); err != nil || u.Host == "" {
		return t, fmt.Errorf("URI %q: %w", uriPart, errors.Join(ErrBadReferTo, err))
	}
	if u.UriParams != nil {
		if m, ok := u.UriParams.Get("method"); ok && !strings.EqualFold(m, "INVITE") {
			return t, fmt.Errorf("method %s: only INVITE: %w", m, ErrBadReferTo)
		}
		if _, ok := u.UriParams.Get("maddr"); ok {
			return t, fmt.Errorf("maddr parameter: %w", ErrBadReferTo)
		}
	}
	if headers != "" {
		for _, h := range strings.Split(headers, "&") {
			name, value, _ := strings.Cut(h, "=")
			if !strings.EqualFold(strings.TrimSpace(name), "Replaces") {
				continue
			}
			if t.Replaces != nil {
				return t, fmt.Errorf("two Replaces: %w", ErrBadReferTo)
			}
			r, err := parseReplaces(value)
			if err != nil {
				return t, err
			}
			t.Replaces = &r
		}
	}
	target := sip.Uri{Scheme: strings.ToLower(u.Scheme), User: u.User, Host: u.Host, Port: u.Port}
	t.Target = target.String()
	return t, nil
}

// parseReplaces reads an escaped Replaces value from a Refer-To URI.
func parseReplaces(escaped string) (Replaces, error) {
	var r Replaces
	v, err := url.PathUnescape(escaped)
	if err != nil {
		return r, fmt.Errorf("Replaces escaping: %w", errors.Join(ErrBadReferTo, err))
	}
	parts := strings.Split(v, ";")
	r.CallID = strings.TrimSpace(parts[0])
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(k) {
		case "to-tag":
			r.ToTag = val
		case "from-tag":
			r.FromTag = val
		case "early-only":
			r.EarlyOnly = true
		}
	}
	for _, f := range []string{r.CallID, r.ToTag, r.FromTag} {
		if f == "" || !isWordToken(f) {
			return r, fmt.Errorf("Replaces %q: want call-id;to-tag=...;from-tag=...: %w", v, ErrBadReferTo)
		}
	}
	return r, nil
}

// isWordToken accepts the characters of a Call-ID (RFC 3261 25.1 word and '@').
func isWordToken(s string) bool {
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-.!%*_+`'~()<>:\\\"/[]?{}@", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// sipfrag is the body of a NOTIFY about a transfer: the status line of the
// new leg's latest response (RFC 3515 2.4.5).
func sipfrag(code int, reason string) []byte {
	if reason == "" {
		reason = "Unknown"
	}
	return []byte("SIP/2.0 " + strconv.Itoa(code) + " " + reason + "\r\n")
}

// referState is the transfer under way in a leg (its implicit subscription).
type referState struct {
	id     uint32 // the REFER's CSeq: Event: refer;id=
	notify bool   // false with Refer-Sub: false (RFC 4488)
}

// onRefer handles a REFER in the leg's confirmed dialog.
func (l *Leg) onRefer(in inbound) {
	st := &l.st
	req := in.req
	te, ok := l.ev.(TransferEvents)
	if !ok {
		l.respond(in, sip.StatusNotImplemented, "Transfers Not Supported", nil)
		return
	}
	if st.refer != nil {
		l.log.Info("sip REFER refused", "reason", "transfer under way")
		l.respond(in, 491, "Transfer Already In Progress", nil)
		return
	}
	refs := req.GetHeaders("Refer-To")
	if len(refs) != 1 {
		l.respond(in, sip.StatusBadRequest, "Exactly One Refer-To Required", nil)
		return
	}
	t, err := ParseReferTo(refs[0].Value())
	if err != nil {
		l.log.Info("sip REFER refused", "error", err)
		l.respond(in, sip.StatusBadRequest, "Bad Refer-To", nil)
		return
	}
	var target sip.Uri
	_ = sip.ParseUri(t.Target, &target) // ParseReferTo built it
	if err := l.s.transfer.permit(target); err != nil {
		l.log.Warn("sip REFER refused", "target", t.Target, "error", err)
		reason := "Transfer Target Not Allowed"
		if !l.s.transfer.allow {
			reason = "Transfers Not Allowed"
		}
		l.respond(in, sip.StatusForbidden, reason, nil)
		return
	}
	if h := req.GetHeader("Referred-By"); h != nil && len(h.Value()) <= maxReferredBy &&
		!strings.ContainsFunc(h.Value(), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.ReferredBy = h.Value()
	}
	if err := te.Transfer(t); err != nil {
		l.log.Info("sip REFER declined", "target", t.Target, "error", err)
		code, reason := 603, "Transfer Declined"
		if errors.Is(err, ErrTransferPending) {
			code, reason = 491, "Transfer Already In Progress"
		}
		l.respond(in, code, reason, nil)
		return
	}
	rs := &referState{id: req.CSeq().SeqNo, notify: true}
	var hdrs []sip.Header
	if h := req.GetHeader("Refer-Sub"); h != nil && strings.EqualFold(strings.TrimSpace(h.Value()), "false") {
		rs.notify = false
		hdrs = append(hdrs, sip.NewHeader("Refer-Sub", "false"))
	}
	l.respond(in, sip.StatusAccepted, "Accepted", nil, hdrs...)
	st.refer = rs
	l.log.Info("sip transfer accepted", "target", t.Target, "attended", t.Replaces != nil)
	l.sendReferNotify(100, "Trying", false, nil)
}

// sendReferNotify reports the new leg's progress to the transferor; final
// ends the implicit subscription and the transfer. answered, when set, is
// called once the NOTIFY was answered or given up on (at once when none is
// sent). The request is built here, on the leg's goroutine, so CSeqs
// follow the order of the calls.
func (l *Leg) sendReferNotify(code int, reason string, final bool, answered func()) {
	st := &l.st
	rs := st.refer
	if final {
		st.refer = nil
	}
	if answered == nil {
		answered = func() {}
	}
	if rs == nil || !rs.notify {
		answered()
		return
	}
	req := l.request(sip.NOTIFY)
	req.AppendHeader(sip.NewHeader("Event", "refer;id="+strconv.FormatUint(uint64(rs.id), 10)))
	state := "active;expires=" + strconv.Itoa(referExpires)
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody(sipfrag(code, reason))
	// One NOTIFY at a time: each goes once the one before was answered, so
	// a proxy relaying them in parallel cannot reorder them.
	prev, sent := st.referSent, make(chan struct{})
	st.referSent = sent
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer answered()
		defer close(sent)
		if prev != nil {
			<-prev
		}
		tx, err := l.u.startTx(context.Background(), req)
		if err != nil {
			l.log.Warn("sip transfer NOTIFY not sent", "error", err)
			return
		}
		res, err := l.u.await(context.Background(), tx)
		if err != nil {
			l.log.Info("sip transfer NOTIFY unanswered", "error", err)
			return
		}
		if !res.IsSuccess() {
			l.log.Info("sip transfer NOTIFY refused", "code", res.StatusCode)
		}
	}()
}

// NotifyTransfer reports the new leg's progress (a provisional status) or
// outcome (final, code >= 200: the transfer is over and another REFER may
// come) to the transferor in a NOTIFY. It returns once the NOTIFY was
// answered (or its transaction gave up, or ctx ended): the next NOTIFY, or
// a BYE, sent after it cannot overtake it on the way through the PBX.
// ErrNoTransfer without a transfer under way.
func (l *Leg) NotifyTransfer(ctx context.Context, code int, reason string) error {
	reply := make(chan legReply, 1)
	select {
	case l.cmds <- legCmd{notify: &referNotify{code: code, reason: reason}, reply: reply}:
	case <-l.done:
		return ErrLegEnded
	case <-ctx.Done():
		return fmt.Errorf("transfer NOTIFY: %w", ctx.Err())
	}
	select {
	case r := <-reply:
		if r.err != nil {
			return fmt.Errorf("transfer NOTIFY: %w", r.err)
		}
		return nil
	case <-l.done:
		return ErrLegEnded
	case <-ctx.Done():
		return fmt.Errorf("transfer NOTIFY: %w", ctx.Err())
	}
}

// referNotify is a NotifyTransfer for the leg's goroutine.
type referNotify struct {
	code   int
	reason string
}

func (l *Leg) onNotifyCmd(c legCmd) {
	if l.st.refer == nil {
		c.reply <- legReply{err: ErrNoTransfer}
		return
	}
	// The reply channel is buffered: the answer does not wait for anyone.
	l.sendReferNotify(c.notify.code, c.notify.reason, c.notify.code >= 200, func() { c.reply <- legReply{} })
}

// transferHeaders adds the Replaces and Referred-By of a transfer's new leg
// to the INVITE's headers, checked like the values ParseReferTo returns.
func transferHeaders(extra []sip.Header, req CallRequest) ([]sip.Header, error) {
	if r := req.Replaces; r != nil {
		for _, f := range []string{r.CallID, r.ToTag, r.FromTag} {
			if f == "" || !isWordToken(f) {
				return nil, fmt.Errorf("Replaces %q: %w", r.String(), ErrBadHeader)
			}
		}
		extra = append(extra, sip.NewHeader("Replaces", r.String()))
	}
	if v := req.ReferredBy; v != "" {
		if len(v) > maxReferredBy || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, fmt.Errorf("Referred-By: %w", ErrBadHeader)
		}
		extra = append(extra, sip.NewHeader("Referred-By", v))
	}
	return extra, nil
}

// PeerName is the display name of who answered the leg, from the 2xx's
// P-Asserted-Identity, else its To header, sanitized; "" before the answer
// or when the PBX named nobody.
func (l *Leg) PeerName() string {
	if p := l.peerName.Load(); p != nil {
		return *p
	}
	return ""
}

// notePeerName keeps the answering party's name from the 2xx.
func (l *Leg) notePeerName(res *sip.Response) {
	name := ""
	if h := res.GetHeader("P-Asserted-Identity"); h != nil {
		name = displayNameOf(h.Value())
	}
	if name == "" && res.To() != nil {
		name = res.To().DisplayName
	}
	name = SanitizeDisplayName(strings.Trim(name, `"`))
	l.peerName.Store(&name)
}

// displayNameOf returns the display name of a name-addr ("" without one).
func displayNameOf(v string) string {
	i := strings.IndexByte(v, '<')
	if i <= 0 {
		return ""
	}
	return strings.Trim(strings.TrimSpace(v[:i]), `"`)
}
