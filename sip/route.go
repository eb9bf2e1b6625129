package sip

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// allowed lists the methods the UA handles, for Allow headers.
const allowed = "OPTIONS, NOTIFY, MESSAGE, INVITE, ACK, BYE, CANCEL, UPDATE, INFO, REFER"

// route is the single entry point of requests from the network: the trust
// check, then one case per method.
func (u *UA) route(req *sip.Request, tx sip.ServerTransaction) {
	if tx == nil {
		return // ACKs have no transaction; none are expected yet
	}
	if !u.trusted(req.Source()) {
		u.logRejected(req)
		u.respond(tx, req, sip.StatusForbidden, "Forbidden")
		return
	}
	switch req.Method {
	case sip.OPTIONS:
		u.respond(tx, req, sip.StatusOK, "OK", sip.NewHeader("Allow", allowed))
	case sip.NOTIFY:
		u.onNotify(req, tx)
	case sip.MESSAGE:
		u.onMessage(req, tx)
	case sip.INVITE, sip.ACK, sip.BYE, sip.CANCEL, sip.UPDATE, sip.INFO, sip.REFER:
		u.onCallRequest(req, tx)
	default:
		u.respond(tx, req, sip.StatusMethodNotAllowed, "Method Not Allowed", sip.NewHeader("Allow", allowed))
	}
}

func (u *UA) trusted(source string) bool {
	ap, err := netip.ParseAddrPort(source)
	return err == nil && u.trustedAddr(ap.Addr())
}

func (u *UA) logRejected(req *sip.Request) {
	u.rejected.add(RejectUntrusted)
	u.log.Debug("sip request from untrusted source rejected", "method", req.Method, "source", req.Source())
}

// respond answers req; a final response to a request without a To tag gets one.
func (u *UA) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, hdrs ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if to := res.To(); to != nil && code >= 200 {
		if _, ok := to.Params.Get("tag"); !ok {
			if to.Params == nil {
				to.Params = sip.NewParams()
			}
			to.Params.Add("tag", newTag())
		}
	}
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	u.traceOut(res, req.Source())
	if err := tx.Respond(res); err != nil {
		u.log.Debug("sip respond failed", "method", req.Method, "code", code, "error", err)
	}
}
