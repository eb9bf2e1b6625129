package widget

import (
	"github.com/frontdesk-gw/frontdesk/bridge"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip/sipaddr"
)

// Transfers the agent's side made (bridge.TransferObserver): the visitor
// saw CallInfo transferring; now connected again, with the new party's
// name, or back in the state before, with reason transfer-failed.

func (o callObserver) Transferred(party, target string) {
	s := o.cs.hold.session(o.s) // the page that took the call over, if one did
	s.mail.post(func() error {
		if s.call != o.cs {
			return nil
		}
		name := s.partyName(party, target)
		o.cs.party.Store(&name)
		m := transferredMsg(name)
		m.Resume = s.resumeToken(o.cs)
		return s.writeJSON(m)
	})
}

func (o callObserver) TransferFailed(st bridge.State) {
	s := o.cs.hold.session(o.s)
	s.mail.post(func() error {
		if s.call != o.cs {
			return nil
		}
		m := transferFailedMsg(st)
		if st == bridge.StateConnected {
			m.Resume = s.resumeToken(o.cs)
		}
		return s.writeJSON(m)
	})
}

func (o huntObserver) Transferred(party, target string) {
	o.s.mail.post(func() error {
		if !o.current() {
			return nil
		}
		return o.s.writeJSON(transferredMsg(o.s.partyName(party, target)))
	})
}

func (o huntObserver) TransferFailed(st bridge.State) {
	o.s.mail.post(func() error {
		if !o.current() {
			return nil
		}
		return o.s.writeJSON(transferFailedMsg(st))
	})
}

// partyName is who the visitor talks to after a transfer: the name the PBX
// gave, else the configured name of the agent the target is (this widget's
// agents first), else "" (the widget then names nobody rather than the
// agent who passed the call on). Only configured names reach the visitor,
// never the target's SIP address.
func (s *session) partyName(party, target string) string {
	if party != "" {
		return party
	}
	t, err := sipaddr.Parse(target)
	if err != nil || t.Key() == "" {
		return ""
	}
	cfg := s.srv.state.Load().cfg
	match := func(w *config.Widget) string {
		for _, a := range w.Agents {
			if u, err := sipaddr.Parse(a.URI); err == nil && u.Key() == t.Key() {
				return a.Name
			}
		}
		return ""
	}
	if w := cfg.Widget(s.widgetID); w != nil {
		if n := match(w); n != "" {
			return n
		}
	}
	for i := range cfg.Widgets {
		if n := match(&cfg.Widgets[i]); n != "" {
			return n
		}
	}
	return ""
}

func transferredMsg(party string) callInfoMsg {
	return callInfoMsg{MT: mtCallInfo, State: string(bridge.StateConnected), Party: party}
}

func transferFailedMsg(st bridge.State) callInfoMsg {
	return callInfoMsg{MT: mtCallInfo, State: string(st), Reason: string(bridge.ReasonTransferFailed)}
}

// Both observers hear transfers.
var (
	_ bridge.TransferObserver = callObserver{}
	_ bridge.TransferObserver = huntObserver{}
)
