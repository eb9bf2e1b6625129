package testbed

// The demo PBX of `make demo` (cmd/frontdesk-testbed) and of the test that
// checks the demo config against it: every agent the demo config names is
// here, registered and answering.

// DemoPort is the fixed Kamailio port of the demo (UDP and TCP).
const DemoPort = 15060

// DemoAgents are the demo's baresip agents, on fixed ports (each also takes
// SIPPort+1 for TLS). alice, bob and carol are people with a presence;
// queue stands behind the "always" agent, hotline behind the boolean one,
// dave is the inactive one (registered, never offered to visitors).
func DemoAgents() []AgentSpec {
	return []AgentSpec{
		{Name: "alice", Password: "alice-demo", Presence: StatusOnline, AnswerCalls: true, SIPPort: 15070, CtrlPort: 15080},
		{Name: "bob", Password: "bob-demo", Presence: StatusBusy, AnswerCalls: true, SIPPort: 15072, CtrlPort: 15081},
		{Name: "carol", Password: "carol-demo", Presence: StatusOffline, AnswerCalls: true, SIPPort: 15074, CtrlPort: 15082},
		{Name: "queue", Password: "queue-demo", Presence: StatusOnline, AnswerCalls: true, SIPPort: 15076, CtrlPort: 15083},
		{Name: "hotline", Password: "hotline-demo", Presence: StatusOnline, AnswerCalls: true, SIPPort: 15078, CtrlPort: 15084},
		{Name: "dave", Password: "dave-demo", Presence: StatusOffline, AnswerCalls: true, SIPPort: 15086, CtrlPort: 15085},
	}
}

// DemoUsers are the demo's accounts without a phone: the gateway's own and
// the boolean object "daytime" (published true at start).
func DemoUsers() []User {
	return []User{
		{Name: "frontdesk", Password: "frontdesk-demo"},
		{Name: "daytime", Password: "daytime-demo"},
	}
}
