package widget

import "testing"

// TestPartyName: after a transfer the visitor sees the name the PBX gave,
// else the configured name of the agent the target is, else nobody; never
// the target's SIP address.
func TestPartyName(t *testing.T) {
	f := newFixture(t, testYAML)
	s := &session{srv: f.srv, widgetID: "fadc5da4-cae9-4bfc-9434-d9957ea08ccb"}
	for _, c := range []struct{ party, target, want string }{
		{"Bob Support", "sip:columbia@example.com", "Bob Support"},
		{"", "sip:columbia@example.com", "Columbia"},
		{"", "sip:columbia@example.com:5060", "Columbia"},
		{"", "sips:atlantis@example.com", "Atlantis"},
		{"", "sip:columbia@other.example.net", ""},
		{"", "sip:4711@example.com", ""},
		{"", "not a uri <", ""},
		{"", "", ""},
	} {
		if got := s.partyName(c.party, c.target); got != c.want {
			t.Errorf("partyName(%q, %q) = %q, want %q", c.party, c.target, got, c.want)
		}
	}
}
