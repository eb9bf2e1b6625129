//go:build integration

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// Transfers the agent's side makes (REFER), end to end: a Go WebRTC
// visitor calls through the gateway and Kamailio an agent played by sipp,
// who transfers the call to another agent (baresip, or sipp).

const (
	// transferVisitorHz is the visitor's tone: the first agent echoes it,
	// the baresip target records it; the target's own microphone is
	// baresip's 440 Hz sine.
	transferVisitorHz = 1000
	transferTargetHz  = 440
	// consultReplaces is the consultation call the attended transfer
	// replaces, escaped for a Refer-To URI.
	consultReplaces = "consult-1%40frontdesk.test%3Bto-tag%3Dct1%3Bfrom-tag%3Dcf1"
)

// waitTone waits (bounded) until the visitor hears mostly hz.
func (p *phone) waitTone(what string, hz float64, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for p.toneLevel(hz) < 0.5 {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: the visitor does not hear %v Hz within %v (share %.2f)", what, hz, timeout, p.toneLevel(hz))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSent waits (bounded) until the gateway's SIP trace shows it sent a
// message starting with prefix.
func (e *callEnv) waitSent(t *testing.T, prefix string) {
	t.Helper()
	deadline := time.Now().Add(callWait)
	for e.sent(prefix) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not send %q within %v", prefix, callWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitSentContaining waits (bounded) until the gateway's SIP trace shows
// it sent a message starting with prefix and holding text.
func (e *callEnv) waitSentContaining(t *testing.T, prefix, text string) {
	t.Helper()
	deadline := time.Now().Add(callWait)
	for {
		for _, m := range e.gw.logLines() {
			msg, _ := m["sip"].(string)
			if m["msg"] == "sip trace" && m["dir"] == "out" && strings.HasPrefix(msg, prefix) && strings.Contains(msg, text) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not send %q with %q within %v", prefix, text, callWait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTransferSipp(t *testing.T) {
	e := startMediaEnv(t, []string{"tblind", "tattend", "tconsult", "tforeign", "tfail", "tbusy"},
		[]testbed.AgentSpec{{Name: "ttarget", Password: "ttarget-pw", AnswerCalls: true, Record: true},
			{Name: "tbare", Password: "tbare-pw", AnswerCalls: true}},
		"  ring_timeout: 8s\n  rtp_timeout: 5s\n", "")
	target := e.tb.Agent("ttarget")

	t.Run("blind: media moves to the target, NOTIFY 200 and BYE to the transferor", func(t *testing.T) {
		a := e.sippAgent(t, "tblind", "transfer-refer.xml", true, "-key", "refer_to", "<"+target.URI()+">")
		before, err := target.Recordings()
		if err != nil {
			t.Fatal(err)
		}
		rejected := e.metric(t, `frontdesk_rtp_rejected_packets_total{reason="source"}`)
		p := e.phone(t, phoneOptions{ToneHz: transferVisitorHz})
		p.dial("tblind", false)
		p.expect("connected", callWait)
		p.waitMedia()
		p.waitTone("the first agent's echo", transferVisitorHz, 5*time.Second)
		p.expect("transferring", callWait)
		m := p.expect("connected", callWait)
		if _, failed := m["reason"]; failed {
			t.Fatalf("transfer failed: %v", m)
		}
		a.done(t) // it saw 202, the NOTIFYs up to 200 OK, then BYE
		// The target's sine reaches the visitor, the visitor's tone the target.
		p.waitTone("the target's microphone", transferTargetHz, 5*time.Second)
		rec := cbNewRecording(t, target, before)
		cbWaitRecordingHears(t, target, rec, transferVisitorHz)
		// The target's media is the SDP's, trusted at once: had the relay
		// stayed on the first agent's address, the target's packets would
		// have been refused until the latch gave up on that silent address
		// (a second of them). A few late echoes of the first agent may be.
		n := e.metric(t, `frontdesk_rtp_rejected_packets_total{reason="source"}`) - rejected
		t.Logf("%v packets refused from a foreign source during the transfer", n)
		if n >= 10 {
			t.Errorf("%v packets from a source that is not the PBX's during the transfer", n)
		}
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		e.noCallsLeft(t)
		if n := e.metric(t, `frontdesk_call_transfers_total{outcome="transferred"}`); n != 1 {
			t.Errorf("transfers counted as transferred: %v, want 1", n)
		}
	})

	t.Run("attended: the target gets Replaces and takes the call by name", func(t *testing.T) {
		a := e.sippAgent(t, "tattend", "transfer-refer.xml", true,
			"-key", "refer_to", "<sip:tconsult@frontdesk.test?Replaces="+consultReplaces+">")
		c := e.sippAgent(t, "tconsult", "transfer-target.xml", true)
		p := e.phone(t, phoneOptions{})
		p.dial("tattend", false)
		p.expect("connected", callWait)
		p.waitMedia()
		p.waitCount("echo from the first agent", &p.echoed, 25, 5*time.Second)
		p.expect("transferring", callWait)
		m := p.expect("connected", callWait)
		if m["party"] != "Bob Support" {
			t.Errorf("connected after the transfer: %v, want party Bob Support", m)
		}
		a.done(t)
		n := p.echoed.Load()
		p.waitCount("echo from the target", &p.echoed, n+25, 5*time.Second)
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		c.done(t) // it checked Replaces, Referred-By and the visitor's name, and got BYE
		e.noCallsLeft(t)
	})

	t.Run("target busy: NOTIFY 486, the visitor stays with the first agent", func(t *testing.T) {
		a := e.sippAgent(t, "tfail", "transfer-refer-busy.xml", true, "-key", "refer_to", "<sip:tbusy@frontdesk.test>")
		b := e.sippAgent(t, "tbusy", "call-busy.xml", false)
		p := e.phone(t, phoneOptions{})
		p.dial("tfail", false)
		p.expect("connected", callWait)
		p.waitMedia()
		p.expect("transferring", callWait)
		if m := p.expect("connected", callWait); m["reason"] != "transfer-failed" {
			t.Errorf("after the busy target: %v, want reason transfer-failed", m)
		}
		b.done(t)
		n := p.echoed.Load()
		p.waitCount("echo from the first agent after the failed transfer", &p.echoed, n+25, 5*time.Second)
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		a.done(t) // it saw NOTIFY 486, and BYE from the visitor's hangup
		e.noCallsLeft(t)
		if n := e.metric(t, `frontdesk_call_transfers_total{outcome="busy"}`); n != 1 {
			t.Errorf("transfers counted as busy: %v, want 1", n)
		}
	})

	t.Run("baresip's transfer command", func(t *testing.T) {
		agent := e.tb.Agent("tbare")
		before, err := target.Recordings()
		if err != nil {
			t.Fatal(err)
		}
		p := e.phone(t, phoneOptions{ToneHz: transferVisitorHz})
		p.dial("tbare", false)
		p.expectAnswer(callWait)
		p.waitMedia()
		p.waitTone("the agent's microphone", transferTargetHz, 5*time.Second)
		if _, err := agent.Command(e.ctx, "transfer", target.URI()); err != nil {
			t.Fatalf("baresip transfer: %v", err)
		}
		p.expect("transferring", callWait)
		if m := p.expect("connected", callWait); m["reason"] != nil {
			t.Fatalf("transfer failed: %v", m)
		}
		rec := cbNewRecording(t, target, before)
		cbWaitRecordingHears(t, target, rec, transferVisitorHz)
		e.waitSentContaining(t, "NOTIFY sip:tbare", "SIP/2.0 200 OK")
		e.waitSent(t, "BYE sip:tbare")
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		e.noCallsLeft(t)
	})

	t.Run("foreign target: 403 and the call goes on", func(t *testing.T) {
		a := e.sippAgent(t, "tforeign", "transfer-refused.xml", true)
		p := e.phone(t, phoneOptions{})
		p.dial("tforeign", false)
		p.expect("connected", callWait)
		p.waitMedia()
		e.waitSent(t, "SIP/2.0 403 Transfer Target Not Allowed")
		n := p.echoed.Load()
		p.waitCount("echo after the refused transfer", &p.echoed, n+25, 5*time.Second)
		if p.pending("transferring") {
			t.Error("the visitor was told of a transfer the gateway refused")
		}
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		a.done(t)
		e.noCallsLeft(t)
		if n := e.invites("mallory"); n != 0 {
			t.Errorf("the gateway sent %d INVITEs to the foreign target", n)
		}
	})
}
