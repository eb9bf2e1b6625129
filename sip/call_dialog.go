package sip

import (
	"github.com/emiago/sipgo/sip"
)

// request builds the next request of ours in the leg's dialog.
func (l *Leg) request(method sip.RequestMethod) *sip.Request {
	l.st.localSeq++
	return l.requestSeq(method, l.st.localSeq)
}

// requestSeq builds an in-dialog request with CSeq seq (RFC 3261 12.2.1.1):
// to the remote target, through the route set; without one, through the
// outbound proxy like the UA's other requests.
func (l *Leg) requestSeq(method sip.RequestMethod, seq uint32) *sip.Request {
	st := &l.st
	req := sip.NewRequest(method, *st.target.Clone())
	req.SetTransport(l.s.transport)
	switch {
	case len(st.routeSet) > 0:
		for i := range st.routeSet {
			req.AppendHeader(&sip.RouteHeader{Address: *st.routeSet[i].Clone()})
		}
	case l.s.proxy != nil:
		req.AppendHeader(&sip.RouteHeader{Address: *l.s.proxy})
	}
	req.AppendHeader(sip.HeaderClone(l.from))
	req.AppendHeader(sip.HeaderClone(st.to))
	cid := sip.CallIDHeader(l.key.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: method})
	switch method {
	case sip.INVITE, sip.UPDATE, sip.ACK, sip.NOTIFY:
		req.AppendHeader(l.u.contactHeader(l.s))
	}
	req.AppendHeader(sip.NewHeader("User-Agent", l.u.agent))
	return req
}

// respond answers an in-dialog request from the PBX.
func (l *Leg) respond(in inbound, code int, reason string, body []byte, hdrs ...sip.Header) *sip.Response {
	res := sip.NewResponseFromRequest(in.req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if body != nil {
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res.SetBody(body)
	}
	if code >= 200 && code < 300 && (in.req.IsInvite() || in.req.Method == sip.UPDATE) {
		res.AppendHeader(l.u.contactHeader(l.s))
		res.AppendHeader(sip.NewHeader("Allow", allowed))
	}
	l.u.traceOut(res, in.req.Source())
	if err := in.tx.Respond(res); err != nil {
		l.log.Debug("sip respond failed", "method", in.req.Method, "code", code, "error", err)
	}
	return res
}

// updateTarget applies the Contact of a target refresh request or its 2xx.
func (l *Leg) updateTarget(m sip.Message) {
	for _, h := range m.GetHeaders("Contact") {
		if c, ok := h.(*sip.ContactHeader); ok {
			l.st.target = *c.Address.Clone()
			if l.dialog.Load() != nil {
				l.keepDialog()
			}
			return
		}
	}
}

// sdpOf returns a copy of an application/sdp body, or nil.
func sdpOf(m sip.Message) []byte {
	if len(m.Body()) == 0 || mediaType(firstValue(m, "Content-Type")) != "application/sdp" {
		return nil
	}
	return append([]byte(nil), m.Body()...)
}
