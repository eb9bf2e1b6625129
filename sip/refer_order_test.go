package sip

import (
	"context"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestTransferNotifiesOneAtATime: a NOTIFY about a transfer goes only once
// the one before was answered, and NotifyTransfer returns only once its
// NOTIFY was: a proxy relaying requests in parallel cannot reorder them,
// and a BYE sent after the final one cannot overtake it.
func TestTransferNotifiesOneAtATime(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	f.setScript(answerWith())
	u, _ := startCallUA(t, f, nil)
	ev := &transferEvents{legEvents: newLegEvents(), transfers: make(chan Transfer, 4)}
	l, err := u.Call(context.Background(), CallRequest{Target: "sip:agent@example.test", SDP: []byte(offerSDP)}, ev)
	if err != nil {
		t.Fatal(err)
	}
	c := f.nextCall()
	waitFor(t, ev.answered, "Answered", func([]byte) bool { return true })
	f.next(sip.ACK)
	// The transferor holds back its answers to NOTIFYs until released.
	release := make(chan struct{}, 4)
	f.setInDialog(func(req *sip.Request) *sip.Response {
		if req.Method == sip.NOTIFY {
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
		}
		return nil
	})
	if code := c.refer("<sip:bob@example.test>"); code != 202 {
		t.Fatalf("REFER answered %d", code)
	}
	waitFor(t, ev.transfers, "Transfer", func(Transfer) bool { return true })
	if n := f.next(sip.NOTIFY); string(n.Body()) != "SIP/2.0 100 Trying\r\n" {
		t.Fatalf("first NOTIFY %q", n.Body())
	}
	returned := make(chan error, 1)
	go func() { returned <- l.NotifyTransfer(context.Background(), 200, "OK") }()
	select {
	case r := <-f.reqs:
		if r.Method == sip.NOTIFY {
			t.Fatalf("NOTIFY %q sent before the one before was answered", r.Body())
		}
	case <-returned:
		t.Fatal("NotifyTransfer returned while the NOTIFY before was unanswered")
	case <-time.After(300 * time.Millisecond):
	}
	release <- struct{}{}
	if n := f.next(sip.NOTIFY); string(n.Body()) != "SIP/2.0 200 OK\r\n" {
		t.Fatalf("second NOTIFY %q", n.Body())
	}
	select {
	case <-returned:
		t.Fatal("NotifyTransfer returned before its NOTIFY was answered")
	case <-time.After(300 * time.Millisecond):
	}
	release <- struct{}{}
	select {
	case err := <-returned:
		if err != nil {
			t.Errorf("NotifyTransfer: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("NotifyTransfer did not return once its NOTIFY was answered")
	}
	hangup(t, l)
}
