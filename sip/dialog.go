package sip

import (
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"
)

// dialogKey finds a subscription dialog from a NOTIFY: its Call-ID and the
// To tag, which is our From tag. The remote tag is not part of it so that a
// NOTIFY arriving before the SUBSCRIBE's 2xx still matches.
type dialogKey struct {
	callID   string
	localTag string
}

// dialog is the SUBSCRIBE side of one subscription dialog. Fields are
// guarded by UA.mu.
type dialog struct {
	sub       *subscription
	callID    string
	localTag  string
	remoteTag string
	localSeq  uint32
	remoteSeq uint32 // last NOTIFY CSeq; 0 before the first
	target    *sip.Uri
	routeSet  []sip.Uri
	epoch     uint64 // UA.epoch when made: renewals end older dialogs
	confirmed bool   // a 2xx or a NOTIFY was received
	closing   bool   // being unsubscribed: answer NOTIFYs, report nothing
	// list follows the RLMI versions of a resource list dialog; nil until
	// its first list NOTIFY (list.go).
	list *listVersions
}

func (d *dialog) key() dialogKey { return dialogKey{d.callID, d.localTag} }

// establishFrom2xx fills what the SUBSCRIBE's 2xx says unless a NOTIFY
// already established the dialog. Caller holds UA.mu.
func (d *dialog) establishFrom2xx(res *sip.Response) {
	if to := res.To(); to != nil && d.remoteTag == "" {
		d.remoteTag, _ = to.Params.Get("tag")
	}
	if d.target == nil {
		if c := res.Contact(); c != nil {
			d.target = c.Address.Clone()
		}
		// As UAC the route set is the Record-Route in reverse.
		d.routeSet = recordRoutes(res)
		slices.Reverse(d.routeSet)
	}
	d.confirmed = true
}

// updateFromNotify applies a NOTIFY (a target refresh request, RFC 6665).
// Caller holds UA.mu.
func (d *dialog) updateFromNotify(req *sip.Request) {
	if from := req.From(); from != nil && d.remoteTag == "" {
		d.remoteTag, _ = from.Params.Get("tag")
	}
	if !d.confirmed {
		// As UAS of the NOTIFY the route set is the Record-Route in order.
		d.routeSet = recordRoutes(req)
	}
	if c := req.Contact(); c != nil {
		d.target = c.Address.Clone()
	}
	d.confirmed = true
}

func recordRoutes(m sip.Message) []sip.Uri {
	var out []sip.Uri
	for _, h := range m.GetHeaders("Record-Route") {
		if rr, ok := h.(*sip.RecordRouteHeader); ok {
			out = append(out, *rr.Address.Clone())
		}
	}
	return out
}

// inDialogRequest builds the next request in d. Caller holds UA.mu.
func (u *UA) inDialogRequest(s settings, d *dialog, method sip.RequestMethod, to sip.Uri) *sip.Request {
	d.localSeq++
	ruri := to
	if d.target != nil {
		ruri = *d.target.Clone()
	}
	req := sip.NewRequest(method, ruri)
	req.SetTransport(s.transport)
	switch {
	case len(d.routeSet) > 0:
		for i := range d.routeSet {
			req.AppendHeader(&sip.RouteHeader{Address: *d.routeSet[i].Clone()})
		}
	case s.proxy != nil:
		req.AppendHeader(&sip.RouteHeader{Address: *s.proxy})
	case d.target == nil:
		req.SetDestination(hostPort(s.registrar, s.transport))
	}
	from := &sip.FromHeader{DisplayName: s.cfg.DisplayName, Address: s.aor, Params: sip.NewParams()}
	from.Params.Add("tag", d.localTag)
	req.AppendHeader(from)
	toH := &sip.ToHeader{Address: to, Params: sip.NewParams()}
	if d.remoteTag != "" {
		toH.Params.Add("tag", d.remoteTag)
	}
	req.AppendHeader(toH)
	cid := sip.CallIDHeader(d.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: d.localSeq, MethodName: method})
	req.AppendHeader(u.contactHeader(s))
	req.AppendHeader(sip.NewHeader("User-Agent", u.agent))
	return req
}

// expiresOf reads the Expires header, or returns def.
func expiresOf(m sip.Message, def time.Duration) time.Duration {
	if hs := m.GetHeaders("Expires"); len(hs) > 0 {
		if d := parseSeconds(hs[0].Value()); d > 0 {
			return d
		}
	}
	return def
}
