package widget

import "github.com/frontdesk-gw/frontdesk/bridge"

// Transfers the agent's side made (bridge.TransferObserver): the visitor
// saw CallInfo transferring; now connected again, with the new party's
// name, or back in the state before, with reason transfer-failed.

func (o callObserver) Transferred(party string) {
	s := o.cs.hold.session(o.s) // the page that took the call over, if one did
	s.mail.post(func() error {
		if s.call != o.cs {
			return nil
		}
		m := transferredMsg(party)
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

func (o huntObserver) Transferred(party string) {
	o.s.mail.post(func() error {
		if !o.current() {
			return nil
		}
		return o.s.writeJSON(transferredMsg(party))
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
