//go:build integration

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// TestTransferThroughWidget: a visitor calls alice through the product
// widget in Chromium; alice passes the call to bob with her phone's
// transfer (baresip, a REFER through Kamailio). The widget says "You are
// being transferred…" while bob's phone rings, until he takes the call, then shows the call connected
// again, naming bob (from the config: his phone gives no name); the page hears bob (660 Hz) instead of alice (440 Hz), bob hears
// the page's microphone, alice's phone is free, and the widget's Hang up
// ends bob's call.
func TestTransferThroughWidget(t *testing.T) {
	env := startReattachEnvWith(t, func(tones string) []testbed.AgentSpec {
		bobTone := cbMakeTone(t, filepath.Join(tones, "bob-660.wav"), 8000, cbBobHz, 120)
		return []testbed.AgentSpec{{Name: "bob", Password: "bob-pw", Presence: "online", ToneFile: bobTone, Record: true}}
	}, "      - {id: bob, sip: bob, name: Bob Brown, media: [voice]}\n")
	bob := env.bed.Agent("bob")
	tb := env.newTab(t)
	bobBefore := cbRecordings(t, bob)
	env.placeCall(t, tb, "/shop")
	env.waitPageHears(t, tb, cbAliceHz)
	// The answered call's setup is timed once, in both parts.
	env.flowWaitMetric(t, `frontdesk_call_setup_seconds_count{part="gateway"}`, 1)
	env.flowWaitMetric(t, `frontdesk_call_setup_seconds_count{part="pbx"}`, 1)

	if _, err := env.alice.Command(ctxT(t, cbWait), "transfer", bob.URI()); err != nil {
		t.Fatalf("alice's transfer command: %v", err)
	}
	tb.waitAttr(raWidget, "call", "transferring")
	var words string
	tb.eval(fmt.Sprintf(`fd(%q).querySelector('.callv .cst').textContent`, raWidget), &words)
	if words != "You are being transferred…" {
		t.Errorf("while bob rings the widget says %q, want You are being transferred…", words)
	}
	keys := tb.controls(raWidget)
	if !strings.Contains(strings.Join(keys, "\n"), "Hang up") {
		t.Errorf("no Hang up during the transfer; the panel has %v", keys)
	}
	tb.screenshots("call-transferring")
	// bob's phone rings until he takes the call: the widget stays
	// "transferring" until then.
	if m := tb.hostAttr(raWidget, "call"); m != "transferring" {
		t.Errorf("while bob's phone rings the widget's call is %q, want transferring", m)
	}
	if err := bob.Accept(ctxT(t, cbWait)); err != nil {
		t.Fatalf("bob takes the call: %v", err)
	}

	tb.flowWaitCall(raWidget, "connected")
	env.waitPageHears(t, tb, cbBobHz)
	rec := cbNewRecording(t, bob, bobBefore)
	cbWaitRecordingHears(t, bob, rec, cbMicHz)
	cbWaitAgentIdle(t, env.alice)
	var title string
	tb.eval(fmt.Sprintf(`fd(%q).querySelector('.callv .nm').textContent`, raWidget), &title)
	// baresip names nobody in its answer: the widget names bob by the
	// config, not alice, who passed the call on.
	var head string
	tb.eval(fmt.Sprintf(`fd(%q).querySelector('.head h2').textContent`, raWidget), &head)
	if title != "Bob Brown" || head != "Bob Brown" {
		t.Errorf("after the transfer the call view names %q and its head %q, want Bob Brown", title, head)
	}
	env.flowWaitMetric(t, `frontdesk_call_transfers_total{outcome="transferred"}`, 1)
	// Bob's answer is not a second setup.
	env.flowWaitMetric(t, `frontdesk_call_setup_seconds_count{part="pbx"}`, 1)

	tb.click(raWidget, tb.flowButton(raWidget, ".ctl", "Hang up"))
	tb.flowWaitCall(raWidget, "ended")
	cbWaitAgentIdle(t, bob)
	env.flowWaitMetric(t, "frontdesk_calls", 0)
	cbCheckRecording(t, bob, rec, cbMicHz)
}
