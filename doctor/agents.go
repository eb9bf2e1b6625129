package doctor

import (
	"context"
	"fmt"
	"sort"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// agentRef is one address the widgets use, with who uses it and how.
type agentRef struct {
	uri      string
	presence bool // subscribe to presence
	dialog   bool // and to dialog
	call     bool // calls and chats go to it: its phone should answer OPTIONS
	who      []string
	where    string // file:line of its first use
}

// agentRefs lists the addresses to check, in config order: presence-mode
// agents (presence, dialog, their phone), boolean objects (presence), and
// the addresses calls go to (their phone).
func agentRefs(cfg *config.Config) []*agentRef {
	byURI := map[string]*agentRef{}
	var out []*agentRef
	ref := func(uri, who string, line int) *agentRef {
		r := byURI[uri]
		if r == nil {
			r = &agentRef{uri: uri, where: fmt.Sprintf("%s:%d", sourceName(cfg), line)}
			byURI[uri] = r
			out = append(out, r)
		}
		r.who = append(r.who, who)
		return r
	}
	for _, w := range cfg.Widgets {
		for _, a := range w.Agents {
			who := fmt.Sprintf("%s of widget %s", a.ID, w.Name)
			switch a.Mode {
			case config.ModePresence:
				r := ref(a.URI, who, a.Line)
				r.presence, r.dialog, r.call = true, true, true
			case config.ModeBoolean:
				ref(a.BooleanURI, "boolean of "+who, a.Line).presence = true
				ref(a.URI, who, a.Line).call = true
			case config.ModeAlways:
				ref(a.URI, who, a.Line).call = true
			}
		}
	}
	return out
}

func sourceName(cfg *config.Config) string {
	if cfg.Source == "" {
		return "demo config"
	}
	return cfg.Source
}

// checkAgents subscribes to every address as the gateway does and says,
// per address and package, what the PBX answered and whether its NOTIFYs
// carry usable state; then whether each address's phone answers.
func (d *doctor) checkAgents(ctx context.Context) {
	refs := agentRefs(d.cfg)
	if len(refs) == 0 {
		d.r.Skip("no agents with presence, boolean or a SIP address to check")
		return
	}
	var targets []sip.Target
	for _, r := range refs {
		if r.presence {
			targets = append(targets, sip.Target{URI: r.uri, Event: sip.EventPresence})
		}
		if r.dialog {
			targets = append(targets, sip.Target{URI: r.uri, Event: sip.EventDialog})
		}
	}
	d.ua.SetSubscriptions(targets)
	wctx, cancel := context.WithTimeout(ctx, d.o.Wait)
	d.ev.waitAll(wctx, targets)
	cancel()
	for _, r := range refs {
		known := false
		if r.presence {
			known = d.checkSubscription(r, sip.EventPresence)
		}
		if r.dialog {
			d.checkSubscription(r, sip.EventDialog)
		}
		if r.call {
			d.checkPhone(ctx, r, known)
		}
	}
	d.ua.SetSubscriptions(nil) // unsubscribe now; the UA says goodbye at the end anyway
}

// label names an address and who uses it.
func (r *agentRef) label() string {
	return r.uri + " (" + strings.Join(r.who, ", ") + ")"
}

// checkSubscription reports one subscription; it returns whether a usable
// presence document arrived.
func (d *doctor) checkSubscription(r *agentRef, ev sip.Event) (state bool) {
	t := sip.Target{URI: r.uri, Event: ev}
	answers, accepted := d.subscribeAnswers(t)
	prefix := fmt.Sprintf("%s: SUBSCRIBE %s: %s", r.label(), ev, answers)
	for _, e := range d.ev.heard(t) {
		switch {
		case e.lost != nil:
			d.subscriptionLost(r, ev, prefix, e.lost)
			return false
		case e.note != nil && e.note.State == sip.SubTerminated:
			d.r.Add(Line{Status: StatusFail, Text: prefix + "; the first NOTIFY ended the subscription (" + d.subscriptionState(t) + ")",
				Cause: "the PBX refuses to give this agent's state to the gateway's user", Fix: subscribeAdvice(403, string(ev))})
			return false
		case e.note != nil && e.note.State != sip.SubPending:
			return d.notifyState(r, ev, prefix, e.note)
		}
	}
	if accepted {
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("%s, but no NOTIFY came within %v", prefix, d.o.Wait),
			Cause: "the PBX's NOTIFYs do not reach the doctor's Contact (NAT, firewall, or a PBX that does not notify at once as RFC 6665 asks)",
			Fix:   adviceNotifyUnreachable})
		return false
	}
	d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("%s; nothing came back within %v", prefix, d.o.Wait), Fix: adviceNoAnswer})
	return false
}

// subscriptionLost reports a refused or failed SUBSCRIBE.
func (d *doctor) subscriptionLost(r *agentRef, ev sip.Event, prefix string, err error) {
	code := statusCode(err)
	fix := subscribeAdvice(code, string(ev))
	var cause string
	switch code {
	case 489, 501:
		cause = fmt.Sprintf("the PBX does not serve the %s event package", ev)
		if ev == sip.EventDialog {
			cause += ": the gateway cannot see this agent's calls (busy), only presence"
		}
	case 403:
		cause = "the PBX's policy does not let the gateway's user subscribe"
	case 404, 480:
		cause = "the PBX knows no such agent (a typo in its sip:, or the agent is not a user of the PBX)"
		fix = &Advice{Setting: "the agent's sip: at " + r.where, Kamailio: fix.Kamailio, Asterisk: fix.Asterisk, FreeSWITCH: fix.FreeSWITCH}
	case 401, 407:
		cause = "the PBX refuses the gateway's credentials for SUBSCRIBE"
	case 0:
		cause = "no answer, or the subscription ended: " + err.Error()
		fix = adviceNoAnswer
	default:
		cause = err.Error()
	}
	d.r.Add(Line{Status: StatusFail, Text: prefix, Cause: cause, Fix: fix})
}

// notifyState reports what the first NOTIFY said; it returns whether a
// usable presence document came.
func (d *doctor) notifyState(r *agentRef, ev sip.Event, prefix string, n *sip.Notification) bool {
	prefix += fmt.Sprintf("; NOTIFY %s", n.State)
	if len(strings.TrimSpace(string(n.Body))) == 0 {
		what := "no presence document: nothing is published for this agent"
		if ev == sip.EventDialog {
			what = "no dialog document: the PBX reports no call state for this agent"
		}
		d.r.Add(Line{Status: StatusWarn, Text: prefix + " without a body: " + what,
			Cause: "the agent's phone publishes nothing yet (or is off); it shows as offline until it does"})
		return false
	}
	switch ev {
	case sip.EventPresence:
		st, err := presence.ParsePresence(n.ContentType, n.Body)
		if err != nil {
			d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("%s, %s: the document cannot be read: %v", prefix, n.ContentType, err),
				Cause: "the PBX sends presence the gateway does not understand", Fix: subscribeAdvice(489, "presence")})
			return false
		}
		d.r.OK("%s, %s: %s", prefix, n.ContentType, describePresence(st))
		return true
	default:
		info, err := presence.ParseDialogInfo(n.Body)
		if err != nil {
			d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("%s, %s: the document cannot be read: %v", prefix, n.ContentType, err),
				Cause: "the PBX sends dialog state the gateway does not understand", Fix: subscribeAdvice(489, "dialog")})
			return false
		}
		d.r.OK("%s, %s: %s", prefix, n.ContentType, describeDialogs(info))
		return false
	}
}

func describePresence(st presence.Status) string {
	s := "basic " + st.Basic.String()
	if st.Busy {
		s += ", busy"
	}
	if st.Away {
		s += ", away"
	}
	if st.Note != "" {
		s += fmt.Sprintf(", note %q", st.Note)
	}
	return s
}

func describeDialogs(info presence.DialogInfo) string {
	var active []string
	for _, dl := range info.Dialogs {
		if dl.State.Active() {
			active = append(active, string(dl.State))
		}
	}
	if len(active) == 0 {
		return "idle (no call now)"
	}
	sort.Strings(active)
	return fmt.Sprintf("%d call(s) now: %s", len(active), strings.Join(active, ", "))
}

// subscribeAnswers describes the answers to the first SUBSCRIBE for t,
// and whether it was accepted (2xx).
func (d *doctor) subscribeAnswers(t sip.Target) (text string, accepted bool) {
	subs := d.tr.requests(func(r *gosip.Request) bool {
		return r.Method == gosip.SUBSCRIBE && toURI(r) == t.URI && strings.EqualFold(header(r, "Event"), string(t.Event))
	})
	if len(subs) == 0 {
		return "not sent", false
	}
	finals, text := d.tr.exchange(gosip.SUBSCRIBE, string(*subs[0].CallID()))
	for _, res := range finals {
		accepted = accepted || res.IsSuccess()
	}
	if text == "" {
		return "no answer", false
	}
	return text, accepted
}

// subscriptionState is the Subscription-State of the first NOTIFY of t's
// first dialog, from the trace.
func (d *doctor) subscriptionState(t sip.Target) string {
	subs := d.tr.requests(func(r *gosip.Request) bool {
		return r.Method == gosip.SUBSCRIBE && toURI(r) == t.URI && strings.EqualFold(header(r, "Event"), string(t.Event))
	})
	if len(subs) == 0 {
		return "Subscription-State: terminated"
	}
	callID := string(*subs[0].CallID())
	for _, req := range d.tr.received(gosip.NOTIFY, callID) {
		return "Subscription-State: " + header(req, "Subscription-State")
	}
	return "Subscription-State: terminated"
}

// checkPhone asks whether a phone answers for the address: the PBX
// forwards an OPTIONS to the registered phones.
func (d *doctor) checkPhone(ctx context.Context, r *agentRef, presenceKnown bool) {
	res, err := d.ua.Options(ctx, r.uri)
	if err == nil && res.Code != 404 && res.Code != 480 {
		server := ""
		if res.Server != "" {
			server = " (" + res.Server + ")"
		}
		d.r.OK("%s: OPTIONS: %d %s%s: a phone answers", r.label(), res.Code, res.Reason, server)
		return
	}
	answer := "no answer"
	if err == nil {
		answer = fmt.Sprintf("%d %s", res.Code, res.Reason)
	}
	fix := &Advice{
		Setting:    "the agent's sip: at " + r.where + " (and sip.domain)",
		Kamailio:   "the agent must be a subscriber of the domain and its phone registered ('kamctl ul show' lists registrations)",
		Asterisk:   "an endpoint and aor for the agent, its phone registered ('pjsip show contacts')",
		FreeSWITCH: "a directory user for the agent, its phone registered ('sofia status profile internal reg')",
	}
	if !r.presence || !presenceKnown {
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("%s: OPTIONS: %s: the PBX knows no phone for this address%s", r.label(), answer, noPresenceEither(r)),
			Cause: "the agent is not a user of the PBX (a typo in its sip:?), or none of its phones is registered", Fix: fix})
		return
	}
	d.r.Add(Line{Status: StatusWarn, Text: fmt.Sprintf("%s: OPTIONS: %s: no phone of the agent is registered now; calls and chats to it fail until one is", r.label(), answer),
		Cause: "the agent's phones are off or not registered"})
}

func noPresenceEither(r *agentRef) string {
	if r.presence {
		return ", and no presence is published for it"
	}
	return ""
}
