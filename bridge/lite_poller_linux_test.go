package bridge

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestLiteSharedSocketInPoller: the engine's PBX poller also reads the
// shared browser-facing socket, so the lite stack wakes once per pace for
// both directions: no transport reader goroutine runs, media crosses both
// ways, and a call made after the poller went idle (no calls) connects too.
func TestLiteSharedSocketInPoller(t *testing.T) {
	e := testEngine(t, engineCfg{lite: true})
	if e.poller == nil {
		t.Skip("no PBX poller on this system")
	}
	for round := range 2 {
		es := establish(t, e, CallOptions{ID: fmt.Sprintf("merged-%d", round)}, nil)
		stack := make([]byte, 1<<20)
		stack = stack[:runtime.Stack(stack, true)]
		if strings.Contains(string(stack), "webrtclite.(*Transport).read(") {
			t.Fatal("the shared socket has a reader goroutine of its own; the poller should read it")
		}
		gw := gwAddr(t, es.gw)
		for i := range 10 {
			es.b.send(0, uint16(i), uint32(i)*160, make([]byte, 160))
			es.p.sendTo(gw, 0, 42, uint16(i), uint32(i)*160, make([]byte, 160))
		}
		eventually(t, "browser packets at the PBX", func() bool { return len(es.p.received()) >= 10 })
		eventually(t, "PBX packets at the browser", func() bool { return len(es.b.received()) >= 10 })
		if err := es.call.Close(); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the poller without calls", func() bool {
			e.poller.mu.Lock()
			defer e.poller.mu.Unlock()
			return len(e.poller.removes) == 0 && !e.poller.changed.Load()
		})
	}
}
