package sip

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/sip/eventlist"
)

// maxNotifyBody bounds a NOTIFY body; presence and dialog documents are
// small. Resource list NOTIFYs may carry up to maxListNotifyBody.
const maxNotifyBody = 64 << 10

// onNotify answers a NOTIFY and delivers it to the Handler when it belongs
// to a subscription the UA holds.
func (u *UA) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	if len(req.Body()) > maxListNotifyBody {
		u.log.Warn("sip NOTIFY body too large", "source", req.Source(), "bytes", len(req.Body()))
		u.respond(tx, req, sip.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	key, ok := notifyKey(req)
	if !ok {
		u.respond(tx, req, sip.StatusBadRequest, "Missing Dialog Identifiers")
		return
	}
	st, err := parseSubState(firstValue(req, "Subscription-State"))
	if err != nil {
		u.respond(tx, req, sip.StatusBadRequest, "Bad Subscription-State")
		return
	}
	ev := eventPackage(firstValue(req, "Event"))
	ctype := mediaType(firstValue(req, "Content-Type"))
	// A resource list body is read before taking the lock: it may be large.
	var list *eventlist.Notification
	var listErr error
	if ctype == eventlist.ContentTypeMultipart && len(req.Body()) > 0 {
		list, listErr = eventlist.Parse(firstValue(req, "Content-Type"), req.Body(), eventlist.DefaultLimits)
	}

	u.mu.Lock()
	d := u.dialogs[key]
	if d == nil {
		u.mu.Unlock()
		u.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist")
		return
	}
	if d.sub.list == nil && len(req.Body()) > maxNotifyBody {
		u.mu.Unlock()
		u.log.Warn("sip NOTIFY body too large", "source", req.Source(), "bytes", len(req.Body()))
		u.respond(tx, req, sip.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	if ev != string(d.sub.t.Event) {
		u.mu.Unlock()
		u.respond(tx, req, 489, "Bad Event")
		return
	}
	// NOTIFYs are handled concurrently: an older one is refused (RFC 3261
	// 12.2.2 answers a lower CSeq with 500) and the accepted ones reach the
	// Handler through the Target's delivery queue, in the order accepted.
	cseq := req.CSeq()
	// A resource list's NOTIFYs may be taken out of order: they carry RLMI
	// versions, which order what they say per resource (list.go).
	if cseq == nil || (d.remoteSeq != 0 && cseq.SeqNo <= d.remoteSeq && d.sub.list == nil) {
		u.mu.Unlock()
		u.respond(tx, req, sip.StatusInternalServerError, "CSeq Out Of Order")
		return
	}
	sub := d.sub
	if sub.list != nil {
		if d.sub.d == d && list == nil && listErr == nil && len(req.Body()) > 0 {
			listErr = fmt.Errorf("content type %q: %w", ctype, eventlist.ErrContentType)
		}
		code, reason, drain := u.onListNotifyLocked(d, req, st, list, listErr)
		u.mu.Unlock()
		u.respond(tx, req, code, reason)
		for _, t := range drain {
			u.drain(t)
		}
		return
	}
	if u.pendingLocked(sub.t) >= maxPendingNotifies {
		u.mu.Unlock()
		u.log.Warn("sip NOTIFY refused: earlier ones still being applied", "uri", sub.t.URI, "event", string(sub.t.Event))
		u.respond(tx, req, sip.StatusInternalServerError, "Busy Applying Earlier NOTIFYs", sip.NewHeader("Retry-After", "1"))
		return
	}
	d.remoteSeq = cseq.SeqNo
	d.updateFromNotify(req)
	deliver := !d.closing && sub.d == d
	if deliver && st.state == SubActive {
		sub.workingLocked()
	}
	if deliver {
		ev := event{note: &Notification{
			Target:      sub.t,
			State:       st.state,
			ContentType: ctype,
			Body:        append([]byte(nil), req.Body()...),
		}}
		if st.state == SubTerminated {
			lost := lostEvent{d: d, err: &terminatedError{reason: st.reason, retryAfter: st.retryAfter}}
			ev.after = func() {
				select {
				case sub.lost <- lost:
				default: // a loss is already pending
				}
			}
		}
		u.enqueueLocked(sub.t, ev)
	}
	u.mu.Unlock()

	u.respond(tx, req, sip.StatusOK, "OK")
	if deliver {
		u.drain(sub.t)
	}
}

func notifyKey(req *sip.Request) (dialogKey, bool) {
	cid, to := req.CallID(), req.To()
	if cid == nil || to == nil {
		return dialogKey{}, false
	}
	tag, ok := to.Params.Get("tag")
	if !ok || tag == "" {
		return dialogKey{}, false
	}
	return dialogKey{callID: string(*cid), localTag: tag}, true
}

// subState is a parsed Subscription-State header.
type subState struct {
	state      SubState
	expires    time.Duration
	reason     string
	retryAfter time.Duration
}

// parseSubState parses "active;expires=600", "pending" or
// "terminated;reason=timeout;retry-after=30".
func parseSubState(v string) (subState, error) {
	parts := strings.Split(v, ";")
	var st subState
	switch s := SubState(strings.ToLower(strings.TrimSpace(parts[0]))); s {
	case SubActive, SubPending, SubTerminated:
		st.state = s
	default:
		return st, fmt.Errorf("subscription state %q", v)
	}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		k, val = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(val)
		switch k {
		case "expires":
			if n, err := strconv.Atoi(val); err == nil && n >= 0 {
				st.expires = min(time.Duration(n), maxDeltaSeconds/time.Second) * time.Second
			}
		case "reason":
			st.reason = strings.ToLower(val)
		case "retry-after":
			st.retryAfter = parseSeconds(val)
		}
	}
	return st, nil
}

// mediaType lower-cases a Content-Type and strips its parameters.
func mediaType(v string) string {
	mt, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// eventPackage is the package of an Event header, without parameters.
func eventPackage(v string) string { return mediaType(v) }

func firstValue(m sip.Message, name string) string {
	if hs := m.GetHeaders(name); len(hs) > 0 {
		return hs[0].Value()
	}
	return ""
}
