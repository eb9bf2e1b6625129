package widget

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/bridge"
	"github.com/frontdesk-gw/frontdesk/presence"
)

// huntYAML lets the tests call as often as they like (the limits of group
// calls have a test of their own).
var huntYAML = strings.Replace(testYAML, "limits:\n", "limits:\n  calls: {per_session: off, per_ip: off, per_agent: off}\n", 1) + `      - id: voiceonly
        sip: voiceonly
        mode: always
        media: [voice]
    groups:
      - {id: team, name: The team, department: Sales, members: [atlantis, columbia, voiceonly], ring_time: 15s}
      - {id: shuffled, members: [atlantis, columbia, voiceonly], order: random}
calls:
  ring_timeout: 30s
`

func huntFixture(t *testing.T, calls *recordingCalls) *fixture {
	t.Helper()
	f := newFixtureWith(t, huntYAML, func(o *Options) { o.Calls = calls })
	for _, id := range []string{"columbia", "voiceonly"} {
		f.avail.set(id, presence.Available)
	}
	return f
}

// callMessages reads CallInfo messages until terminated, returning
// "trying <dest>" and "terminated <reason>" entries.
func (c *client) callMessages() []string {
	c.t.Helper()
	var out []string
	for {
		m := c.next("CallInfo")
		switch m["state"] {
		case callTrying:
			out = append(out, fmt.Sprint("trying ", m["dest"]))
		case "terminated":
			return append(out, fmt.Sprint("terminated ", m["reason"]))
		default:
			out = append(out, fmt.Sprint(m["state"]))
		}
	}
}

func targets(calls *recordingCalls) []string {
	var out []string
	for _, r := range calls.requests() {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(r.Target, "sip:"), "@example.com"))
	}
	return out
}

// TestGroupCallTriesMembersInOrder: a call to a group rings its members
// one at a time with the group's ring time, all with the one offer, passes
// over those who cannot take it, and ends when nobody is left.
func TestGroupCallTriesMembersInOrder(t *testing.T) {
	calls := &recordingCalls{err: errors.New("no PBX here")}
	f := huntFixture(t, calls)
	c := f.dial(testOrigin)
	_, infos := c.start()
	team := infos[len(infos)-2]
	if team["id"] != "team" || team["dn"] != "The team" || team["department"] != "Sales" || team["presence"] != "online" ||
		fmt.Sprint(team["media"]) != "[voice video chat]" || fmt.Sprint(team["members"]) != "[atlantis columbia voiceonly]" {
		t.Errorf("the group's Info: %v", team)
	}
	c.send(`{"mt":"CreateCall","dest":"team","dn":"Vera"}`)
	c.send(`{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0 the one offer"}`)
	if got := c.callMessages(); !slices.Equal(got, []string{"trying atlantis", "trying columbia", "trying voiceonly", "terminated failed"}) {
		t.Errorf("call messages %q", got)
	}
	reqs := calls.requests()
	if got := targets(calls); !slices.Equal(got, []string{"atlantis", "columbia", "voiceonly"}) {
		t.Fatalf("rang %v", got)
	}
	for _, r := range reqs {
		if r.BrowserOffer != "v=0 the one offer" || r.RingTimeout != 15*time.Second || r.DisplayName != "Vera" {
			t.Errorf("attempt %+v: want the visitor's offer, 15 s ring time", r)
		}
	}
	if f.srv.Calls() != 0 {
		t.Errorf("%d call slots held after the group call", f.srv.Calls())
	}

	// Columbia goes away; a video call passes over the voice-only member.
	f.avail.set("columbia", presence.Offline)
	calls.mu.Lock()
	calls.got = nil
	calls.mu.Unlock()
	c.send(`{"mt":"CreateCall","dest":"team","dn":"Vera","video":true}`)
	c.send(`{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0"}`)
	if got := c.callMessages(); !slices.Equal(got, []string{"trying atlantis", "terminated failed"}) {
		t.Errorf("video call: %q", got)
	}
	if got := targets(calls); !slices.Equal(got, []string{"atlantis"}) || !calls.requests()[0].AllowVideo {
		t.Errorf("video call rang %v (%+v)", got, calls.requests())
	}
	// Nobody who can take it: refused before anything is rung.
	f.avail.set("atlantis", presence.Busy)
	c.send(`{"mt":"CreateCall","dest":"team","dn":"Vera","video":true}`)
	if m := c.next("Error"); m["code"] != string(CodeAgentUnavailable) {
		t.Errorf("group with nobody available: %v", m)
	}
}

// TestGroupCallStopsForTheOffer: an offer no member can take ends the call
// at the first attempt; random groups ring every member once.
func TestGroupCallStopsForTheOffer(t *testing.T) {
	calls := &recordingCalls{err: fmt.Errorf("call x: %w", bridge.ErrNoCommonCodec)}
	f := huntFixture(t, calls)
	c := f.dial(testOrigin)
	c.start()
	c.send(`{"mt":"CreateCall","dest":"team","dn":"Vera"}`)
	c.send(`{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0"}`)
	if got := c.callMessages(); !slices.Equal(got, []string{"trying atlantis", "terminated no-common-codec"}) {
		t.Errorf("call messages %q", got)
	}
	calls.mu.Lock()
	calls.err, calls.got = errors.New("no PBX here"), nil
	calls.mu.Unlock()
	seen := map[string]int{}
	for range 8 {
		c.send(`{"mt":"CreateCall","dest":"shuffled","dn":"Vera"}`)
		c.send(`{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0"}`)
		c.callMessages()
	}
	firsts := map[string]bool{}
	reqs := targets(calls)
	for i, target := range reqs {
		seen[target]++
		if i%3 == 0 {
			firsts[target] = true
		}
	}
	if len(reqs) != 24 || seen["atlantis"] != 8 || seen["columbia"] != 8 || seen["voiceonly"] != 8 {
		t.Errorf("random group rang %v, want each member once per call", seen)
	}
	if len(firsts) < 2 {
		t.Errorf("8 random group calls all began with %v", firsts)
	}
}

// TestContactUsGroup: a sidebar's "contact us" calls every agent unless it
// names a group; the widget learns what to call from Session.
func TestContactUsGroup(t *testing.T) {
	yml := strings.Replace(huntYAML, "type: cards", "type: sidebar", 1)
	calls := &recordingCalls{err: errors.New("no PBX here")}
	f := newFixtureWith(t, yml, func(o *Options) { o.Calls = calls })
	f.avail.set("voiceonly", presence.Available)
	c := f.dial(testOrigin)
	session, _ := c.start()
	if session["contactUs"] != contactUsDest {
		t.Errorf("Session contactUs %v, want %q", session["contactUs"], contactUsDest)
	}
	c.send(`{"mt":"CreateCall","dest":"*","dn":"Vera"}`)
	c.send(`{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0"}`)
	// columbia is offline: passed over.
	if got := c.callMessages(); !slices.Equal(got, []string{"trying atlantis", "trying voiceonly", "terminated failed"}) {
		t.Errorf("contact us: %q", got)
	}
	g := newFixture(t, strings.Replace(yml, "    groups:", "    contact_us: team\n    groups:", 1))
	d := g.dial(testOrigin)
	if session, _ := d.start(); session["contactUs"] != "team" {
		t.Errorf("Session contactUs %v, want team", session["contactUs"])
	}
}

func TestMovesOn(t *testing.T) {
	for _, r := range bridge.Reasons {
		want := slices.Contains([]bridge.Reason{bridge.ReasonBusy, bridge.ReasonDeclined, bridge.ReasonNoAnswer,
			bridge.ReasonUnavailable, bridge.ReasonFailed, bridge.ReasonNoCommonCodec}, r)
		if movesOn(r) != want {
			t.Errorf("movesOn(%s) = %v", r, !want)
		}
	}
}

// TestGroupCallLimits: a group call counts once against the session's and
// address's rates, and each member it rings against that member's.
func TestGroupCallLimits(t *testing.T) {
	yml := strings.Replace(huntYAML, "calls: {per_session: off, per_ip: off, per_agent: off}", "calls: {per_session: 2/min, per_ip: off, per_agent: 1/min}", 1)
	calls := &recordingCalls{err: errors.New("no PBX here")}
	f := newFixtureWith(t, yml, func(o *Options) { o.Calls = calls })
	for _, id := range []string{"columbia", "voiceonly"} {
		f.avail.set(id, presence.Available)
	}
	c := f.dial(testOrigin)
	c.start()
	call := func() []string {
		c.send(`{"mt":"CreateCall","dest":"team","dn":"Vera"}`)
		c.send(`{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0"}`)
		return c.callMessages()
	}
	if got := call(); !slices.Equal(got, []string{"trying atlantis", "trying columbia", "trying voiceonly", "terminated failed"}) {
		t.Errorf("first group call: %q", got)
	}
	// Every member was rung once this minute: the second call reaches
	// nobody, and says so without ringing anyone.
	if got := call(); !slices.Equal(got, []string{"terminated unavailable"}) {
		t.Errorf("second group call: %q", got)
	}
	if n := len(calls.requests()); n != 3 {
		t.Errorf("%d attempts, want the first call's 3", n)
	}
	c.send(`{"mt":"CreateCall","dest":"team","dn":"Vera"}`)
	if m := c.next("Error"); m["code"] != string(CodeRetryLater) {
		t.Errorf("a third group call in a minute: %v, want retry-later", m)
	}
}
