//go:build integration

package e2e

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// safetyHandover is chat.handover in TestChatSafety: long enough that a
// reply sent right after a chat began is surely inside it, short enough to
// wait out.
const safetyHandover = 6 * time.Second

// TestChatSafety runs the chat's public-internet cases against Kamailio and
// baresip agents: a reply typed for the previous visitor never reaches the
// next one (agent routing), replies written into a half-open websocket all
// reach the visitor once and in order after the reconnect, and a burst of
// left messages is refused with retry-later beyond the configured count.
func TestChatSafety(t *testing.T) {
	if err := testbed.CheckBinaries(true); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	ctx := ctxT(t, 4*time.Minute)
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir:   t.TempDir(),
		Users: []testbed.User{{Name: "frontdesk", Password: gwPassword}},
		Agents: []testbed.AgentSpec{
			{Name: "alice", Password: "alice-pw", Presence: "online"},
			{Name: "bob", Password: "bob-pw", Presence: "online"},
		},
		Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfg := chatConfig(tb.Addr())
	cfg = strings.Replace(cfg, "chat:\n", fmt.Sprintf("chat:\n  handover: %s\n", safetyHandover), 1)
	cfg = strings.Replace(cfg, "messages_left: {per_session: off,", "messages_left: {per_session: 2/1h,", 1)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, cfg)
	gw := startGateway(t, cfgPath)
	gw.waitHealth("registered", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })
	alice := tb.Agent("alice")

	t.Run("a reply typed for the previous visitor reaches nobody", func(t *testing.T) {
		ann := gw.visit(e2eOrigin)
		if _, infos := ann.start(chatWidget); infos["alice"]["presence"] != "online" {
			ann.waitFor("alice online", updateLimit, infoOf("alice", "online"))
		}
		ann.send(`{"mt":"ChatOpen","dest":"alice","dn":"Ann"}`)
		ann.waitFor("Ann's chat", updateLimit, isMT("ChatOpened"))
		ann.send(`{"mt":"ChatSend","id":"a1","text":"I cannot log in"}`)
		waitAgentMessage(t, alice, "I cannot log in")
		if err := alice.SendMessage(ctx, "One moment, Ann, I am looking it up"); err != nil {
			t.Fatal(err)
		}
		ann.waitFor("alice's first reply", updateLimit, isMT("ChatMessage"))

		// Ann leaves; Ben opens a chat with alice at once; alice, not
		// having looked at her phone, answers Ann.
		ann.send(`{"mt":"ChatClose"}`)
		ann.waitFor("Ann's chat ended", updateLimit, isMT("ChatEnded"))
		ben := gw.visit(e2eOrigin)
		ben.start(chatWidget)
		benOpened := time.Now()
		ben.send(`{"mt":"ChatOpen","dest":"alice","dn":"Ben"}`)
		ben.waitFor("Ben's chat", updateLimit, isMT("ChatOpened"))
		if err := alice.SendMessage(ctx, "Ann, your reset code is 4711"); err != nil {
			t.Fatal(err)
		}
		// Ben sees nothing of it; alice is told it reached nobody.
		ben.quiet("Ben sees no reply meant for Ann", time.Second, isMT("ChatMessage"))
		waitAgentMessage(t, alice, "[Not delivered: the chat with “Ben” has only just begun")

		// alice's phone shows Ann's end before Ben's start.
		msgs, err := alice.ReceivedMessages()
		if err != nil {
			t.Fatal(err)
		}
		end, start := -1, -1
		for i, m := range msgs {
			if strings.HasPrefix(m.Body, "[The visitor ended the chat") {
				end = i
			}
			if strings.HasPrefix(m.Body, "[New chat from “Ben” via Contact. Your replies go to this visitor until the chat ends.]") {
				start = i
			}
		}
		if end < 0 || start < end {
			t.Errorf("alice's phone: Ann's end notice at %d, Ben's start notice at %d; want both, in that order", end, start)
		}

		// Once alice has had Ben's notice for the hand-over, her replies
		// reach Ben.
		gw.waitTakesReplies(t, "alice@frontdesk.test", benOpened)
		if err := alice.SendMessage(ctx, "Hello Ben, how can I help?"); err != nil {
			t.Fatal(err)
		}
		if m, _ := ben.waitFor("alice's reply to Ben", updateLimit, isMT("ChatMessage")); m["text"] != "Hello Ben, how can I help?" {
			t.Errorf("Ben got %v", m)
		}
		ben.send(`{"mt":"ChatClose"}`)
		ben.waitFor("Ben's chat ended", updateLimit, isMT("ChatEnded"))
	})

	t.Run("replies written into a half-open websocket arrive after the reconnect", func(t *testing.T) {
		relay := newStallRelay(t, strings.TrimPrefix(gw.httpURL, "http://"))
		vera := gw.visitVia(relay.addr(), e2eOrigin)
		vera.start(chatWidget)
		vera.send(`{"mt":"ChatOpen","dest":"bob","dn":"Vera"}`)
		opened, _ := vera.waitFor("Vera's chat", updateLimit, isMT("ChatOpened"))
		token := opened["token"].(string)
		vera.send(`{"mt":"ChatSend","id":"v1","text":"Is my order on its way?"}`)
		d, _ := vera.waitFor("delivered", updateLimit, isMT("ChatDelivery"))
		waitAgentMessage(t, tb.Agent("bob"), "Is my order on its way?")
		if code, err := tb.SendMessageAs(ctx, "bob", "bob-pw", "frontdesk", "text/plain;charset=UTF-8", []byte("Let me check")); err != nil || code != 200 {
			t.Fatalf("bob's first reply: %d, %v", code, err)
		}
		first, _ := vera.waitFor("bob's first reply", updateLimit, isMT("ChatMessage"))
		seen := first["seq"].(float64)
		if d["seq"] != 1.0 || seen != 2.0 {
			t.Fatalf("delivery seq %v, message seq %v; want 1 and 2", d["seq"], seen)
		}
		vera.send(fmt.Sprintf(`{"mt":"ChatAck","seq":%d}`, int(seen)))

		// The network drops everything from now on, both ways; nobody closes
		// anything. The gateway still writes into the connection.
		relay.stall()
		replies := []string{"It left our warehouse today.", "Tracking number: 1Z999AA10123456784.", "Anything else?"}
		for _, r := range replies {
			code, err := tb.SendMessageAs(ctx, "bob", "bob-pw", "frontdesk", "text/plain;charset=UTF-8", []byte(r))
			if err != nil || code != 200 {
				t.Fatalf("bob's reply %q: %d, %v; want 200 (held for the chat)", r, code, err)
			}
		}
		vera.quiet("nothing gets through the stalled relay", 300*time.Millisecond, func(map[string]any) bool { return true })

		back := gw.visit(e2eOrigin)
		back.start(chatWidget)
		back.send(fmt.Sprintf(`{"mt":"ChatResume","token":%q,"seq":%d}`, token, int(seen)))
		if o := back.next(updateLimit); o["mt"] != "ChatOpened" || o["resumed"] != true {
			t.Fatalf("got %v, want ChatOpened resumed", o)
		}
		var got []string
		for i := range replies {
			m, _ := back.waitFor(fmt.Sprintf("reply %d", i+1), updateLimit, isMT("ChatMessage"))
			if m["seq"] != seen+float64(i+1) {
				t.Errorf("reply %q has seq %v, want %v", m["text"], m["seq"], seen+float64(i+1))
			}
			got = append(got, fmt.Sprint(m["text"]))
		}
		back.quiet("no reply twice", time.Second, isMT("ChatMessage"))
		n := 0
		for i := range replies {
			if i < len(got) && got[i] == replies[i] {
				n++
			}
		}
		t.Logf("replies delivered after a half-open websocket: %d of %d, once, in order", n, len(replies))
		if n != len(replies) {
			t.Errorf("after the reconnect: %q, want %q", got, replies)
		}
		// The widget confirms what it showed before it closes: the agent's
		// end notice says nothing went unseen.
		back.send(fmt.Sprintf(`{"mt":"ChatAck","seq":%d}`, int(seen)+len(replies)))
		back.send(`{"mt":"ChatClose"}`)
		back.waitFor("ended", updateLimit, isMT("ChatEnded"))
		waitAgentMessage(t, tb.Agent("bob"), "[The visitor ended the chat.]")
	})

	t.Run("a burst of left messages is refused beyond the limit", func(t *testing.T) {
		const marker = "burst-"
		v := gw.visit(e2eOrigin)
		v.start(chatWidget)
		leave := func(i int) {
			v.send(fmt.Sprintf(`{"mt":"LeaveMessage","id":"l%d","name":"Nora","contact":"nora@example.com","text":"%s%d please call back"}`, i, marker, i))
		}
		// answer waits for the fate of one left message: accepted, refused
		// while another is under way (one at a time), or retry-later.
		answer := func(what string) string {
			m, _ := v.waitFor(what, 15*time.Second, func(m map[string]any) bool { return m["mt"] == "Error" || m["mt"] == "MessageLeft" })
			switch {
			case m["ok"] == true:
				return "ok"
			case m["mt"] == "MessageLeft" && m["reason"] == "rate-limited":
				return "under way"
			case m["code"] == "retry-later" && m["retryAfter"] != nil && m["retryAfter"].(float64) >= 1:
				return "retry-later"
			}
			t.Errorf("%s: got %v", what, m)
			return ""
		}
		// Five at once, then one after the other: the session's two are
		// taken, every other is refused.
		got := map[string]int{}
		for i := range 5 {
			leave(i)
		}
		for range 5 {
			got[answer("an answer to the burst")]++
		}
		for i := 5; got["ok"] < 2 && i < 8; i++ {
			leave(i)
			got[answer("a left message after the burst")]++
		}
		for i := 8; i < 11; i++ {
			leave(i)
			if a := answer("a left message beyond the limit"); a != "retry-later" {
				t.Errorf("left message %d beyond the limit: %s, want retry-later", i, a)
			}
		}
		if got["ok"] != 2 || got["ok"]+got["under way"]+got["retry-later"] < 5 {
			t.Errorf("answers %v, want 2 accepted and the rest refused", got)
		}
		// The fallback (bob) got exactly the two that were taken.
		bob := tb.Agent("bob")
		count := func() int {
			msgs, err := bob.ReceivedMessages()
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, m := range msgs {
				if strings.Contains(m.Body, marker) {
					n++
				}
			}
			return n
		}
		deadline := time.Now().Add(10 * time.Second)
		for count() < 2 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Second) // time for a stray one to arrive
		if n := count(); n != 2 {
			t.Errorf("the fallback got %d left messages, want the 2 accepted", n)
		}
	})
}

func isMT(mt string) func(m map[string]any) bool {
	return func(m map[string]any) bool { return m["mt"] == mt }
}

// waitLog waits until a gateway log line matches, and returns it.
func (g *gatewayProc) waitLog(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(updateLimit)
	for {
		for _, l := range g.logLines() {
			if match(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway log: no %s within %v", what, updateLimit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitTakesReplies waits until the gateway takes agent's (user@host)
// replies in the chat opened after since: its new-chat notice was accepted
// and the hand-over the gateway logged with it has passed.
func (g *gatewayProc) waitTakesReplies(t *testing.T, agent string, since time.Time) {
	t.Helper()
	var at time.Time
	l := g.waitLog(t, "a new-chat notice to "+agent+" accepted", func(l map[string]any) bool {
		if l["msg"] != "chat notice accepted" || l["agent"] != agent {
			return false
		}
		tm, err := time.Parse(time.RFC3339Nano, fmt.Sprint(l["time"]))
		at = tm
		return err == nil && !tm.Before(since)
	})
	hold, ok := l["handover"].(float64) // slog's JSON writes durations in nanoseconds
	if !ok {
		t.Fatalf("log line %v: no handover", l)
	}
	time.Sleep(time.Until(at.Add(time.Duration(hold) + 300*time.Millisecond)))
}

// visitVia is visit through addr (a relay in front of the gateway).
func (g *gatewayProc) visitVia(addr, origin string) *visitor {
	g.t.Helper()
	conn, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", http.Header{"Origin": {origin}})
	if err != nil {
		g.t.Fatalf("open websocket via %s: %v", addr, err)
	}
	return g.visitor(conn)
}

// stallRelay forwards TCP connections to a target until stall: from then
// on it reads and drops everything both ways and closes nothing, as a
// network that lost the path does. The far ends see a half-open
// connection: writes succeed, nothing arrives.
type stallRelay struct {
	ln      net.Listener
	target  string
	stalled atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func newStallRelay(t *testing.T, target string) *stallRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &stallRelay{ln: ln, target: target}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(r.close)
	return r
}

func (r *stallRelay) addr() string { return r.ln.Addr().String() }

func (r *stallRelay) stall() { r.stalled.Store(true) }

func (r *stallRelay) accept() {
	defer r.wg.Done()
	for {
		in, err := r.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", r.target)
		if err != nil {
			in.Close()
			continue
		}
		r.mu.Lock()
		r.conns = append(r.conns, in, out)
		r.mu.Unlock()
		r.wg.Add(2)
		go r.pump(out, in)
		go r.pump(in, out)
	}
}

// pump copies from src to dst, dropping what it reads once stalled.
func (r *stallRelay) pump(dst, src net.Conn) {
	defer r.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !r.stalled.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // closed by the far end or by close
		}
	}
}

func (r *stallRelay) close() {
	r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}
