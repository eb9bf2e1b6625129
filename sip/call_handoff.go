package sip

import (
	"context"
	"fmt"

	"github.com/emiago/sipgo/sip"
)

// DialogID is what another UA needs to end an answered call's dialog with
// BYE: in a cluster, when the node that carried the call died, a surviving
// node sends it, as the gateway's registered identity, with this dialog's
// identifiers.
type DialogID struct {
	CallID    string   `json:"call_id"`
	LocalURI  string   `json:"local_uri"`
	LocalTag  string   `json:"local_tag"`
	RemoteURI string   `json:"remote_uri"`
	RemoteTag string   `json:"remote_tag"`
	Target    string   `json:"target"`
	RouteSet  []string `json:"route_set,omitempty"`
	LocalSeq  uint32   `json:"local_seq"`
}

// byeSeqGap is added to the last local CSeq a DialogID recorded, so that a
// BYE from another node is above any request the leg sent after that
// (session refreshes).
const byeSeqGap = 1000

// Dialog returns the leg's dialog identifiers once it was answered (false
// before). The remote target is kept current when the PBX changes it.
func (l *Leg) Dialog() (DialogID, bool) {
	d := l.dialog.Load()
	if d == nil {
		return DialogID{}, false
	}
	return *d, true
}

// keepDialog records the dialog's identifiers; the leg's goroutine calls it
// once answered and after target refreshes.
func (l *Leg) keepDialog() {
	st := &l.st
	d := &DialogID{CallID: l.key.callID, LocalURI: l.from.Address.String(), RemoteURI: st.to.Address.String(),
		RemoteTag: st.remoteTag, Target: st.target.String(), LocalSeq: st.localSeq}
	d.LocalTag, _ = l.from.Params.Get("tag")
	for _, r := range st.routeSet {
		d.RouteSet = append(d.RouteSet, r.String())
	}
	l.dialog.Store(d)
}

// Bye ends the dialog d, which another UA (another node) made, with a BYE
// from this UA and returns the final status. Digest challenges are
// answered.
func (u *UA) Bye(ctx context.Context, d DialogID) (int, error) {
	s := u.settings()
	var target, local, remote sip.Uri
	for _, p := range []struct {
		s  string
		to *sip.Uri
	}{{d.Target, &target}, {d.LocalURI, &local}, {d.RemoteURI, &remote}} {
		if err := sip.ParseUri(p.s, p.to); err != nil {
			return 0, fmt.Errorf("bye %s: %q: %w", d.CallID, p.s, ErrBadURI)
		}
	}
	var routes []sip.Uri
	for _, r := range d.RouteSet {
		var ru sip.Uri
		if err := sip.ParseUri(r, &ru); err != nil {
			return 0, fmt.Errorf("bye %s: route %q: %w", d.CallID, r, ErrBadURI)
		}
		routes = append(routes, ru)
	}
	seq := d.LocalSeq + byeSeqGap
	res, err := u.exchange(ctx, s, func() *sip.Request {
		req := sip.NewRequest(sip.BYE, target)
		req.SetTransport(s.transport)
		switch {
		case len(routes) > 0:
			for i := range routes {
				req.AppendHeader(&sip.RouteHeader{Address: routes[i]})
			}
		case s.proxy != nil:
			req.AppendHeader(&sip.RouteHeader{Address: *s.proxy})
		}
		from := &sip.FromHeader{Address: local, Params: sip.NewParams()}
		from.Params.Add("tag", d.LocalTag)
		to := &sip.ToHeader{Address: remote, Params: sip.NewParams()}
		to.Params.Add("tag", d.RemoteTag)
		req.AppendHeader(from)
		req.AppendHeader(to)
		cid := sip.CallIDHeader(d.CallID)
		req.AppendHeader(&cid)
		req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.BYE})
		req.AppendHeader(sip.NewHeader("User-Agent", u.agent))
		seq++
		return req
	})
	if err != nil {
		return 0, fmt.Errorf("bye %s: %w", d.CallID, err)
	}
	return res.StatusCode, nil
}
