//go:build integration

package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// agentPhone accepts every MESSAGE a chat sends to the agent.
type agentPhone struct{}

func (agentPhone) SendMessage(context.Context, sip.OutgoingMessage) (int, error) { return 200, nil }

// eventLog is a visitor connection: it records what the chat shows.
type eventLog struct {
	mu     sync.Mutex
	events []chat.Event
}

func (l *eventLog) Deliver(ev chat.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

func (l *eventLog) messages() []chat.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []chat.Event
	for _, ev := range l.events {
		if ev.Kind == chat.EventMessage {
			out = append(out, ev)
		}
	}
	return out
}

// startChatNode is an engine with a chat manager, as a gateway wires them.
func startChatNode(t *testing.T, url, name string) (*testNode, *chat.Manager) {
	t.Helper()
	n := startNode(t, url, name)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("node", name)
	m := chat.NewManager(chat.Options{
		Config: config.Chat{ResumeGrace: time.Minute}, Sender: agentPhone{},
		Username: "frontdesk", Domain: "pbx.test", Log: log, Shared: n.e, Node: name,
	})
	n.e.SetChats(m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return n, m
}

// openChat opens a chat on m and waits until the agent's client accepted
// its new-chat notice (saved in the engine), so that replies count.
func openChat(t *testing.T, n *testNode, m *chat.Manager, agent string, s chat.Sink) *chat.Attachment {
	t.Helper()
	var a *chat.Attachment
	waitFor(t, "a chat opens", 5*time.Second, func() bool {
		var err error
		a, err = m.Open(chat.Visitor{Name: "Vera", WidgetID: "w1", AgentURI: agent}, s)
		return err == nil
	})
	waitFor(t, "the new-chat notice accepted", 5*time.Second, func() bool {
		kv, err := n.e.chatBucket()
		if err != nil {
			return false
		}
		ctx, cancel := opCtx()
		defer cancel()
		rec, _, err := loadChat(ctx, kv, a.ID())
		return err == nil && !rec.NoticeAt.IsZero()
	})
	return a
}

func agentReply(agent, text, id string) sip.IncomingMessage {
	return sip.IncomingMessage{From: agent, To: "sip:frontdesk@pbx.test", RequestURI: "sip:frontdesk@pbx.test",
		ContentType: sip.ContentTypeText, Charset: "utf-8", Body: []byte(text), ID: id}
}

func twoChatNodes(t *testing.T) ([2]*testNode, [2]*chat.Manager) {
	t.Helper()
	ns := startNATS(t)
	a, ma := startChatNode(t, ns.URL(), "a")
	b, mb := startChatNode(t, ns.URL(), "b")
	waitFor(t, "both nodes see each other", 3*testTTL, func() bool {
		return a.e.Status().Connected && b.e.Status().Connected && a.e.Status().Nodes == 2 && b.e.Status().Nodes == 2
	})
	return [2]*testNode{a, b}, [2]*chat.Manager{ma, mb}
}

// TestChatReplyCopyAfterMove: the PBX forks a reply to both nodes; the
// holder takes it while the visitor is away, the visitor resumes on the
// other node, and that node's copy of the same MESSAGE arrives only then
// (or was still on its way): it is answered, not shown a second time.
func TestChatReplyCopyAfterMove(t *testing.T) {
	nodes, ms := twoChatNodes(t)
	const agent = "sip:alice@pbx.test"
	first := &eventLog{}
	att := openChat(t, nodes[1], ms[1], agent, first)
	att.Detach()
	in := agentReply(agent, "held reply", "call-1 1 tag-1")
	if code := ms[1].Message(in); code != 202 {
		t.Fatalf("reply while the visitor is away: %d, want 202", code)
	}
	back := &eventLog{}
	if _, err := ms[0].Resume(att.Token(), "w1", 0, back); err != nil {
		t.Fatalf("resume on the other node: %v", err)
	}
	if code := ms[0].Message(in); code < 200 || code > 299 {
		t.Errorf("the late copy of the reply: %d, want 2xx (it was taken)", code)
	}
	if code := ms[1].Message(in); code < 200 || code > 299 {
		t.Errorf("the first node's copy once more: %d, want its 2xx", code)
	}
	got := back.messages()
	if len(got) != 1 || got[0].Text != "held reply" || got[0].Seq != 1 {
		t.Errorf("the visitor was shown %+v, want the reply once as seq 1", got)
	}
}

// TestChatRepliesRaceResumes: round after round the visitor resumes on
// the node that does not hold the chat while the agent's reply reaches
// the nodes at the same moment: forked to both (Kamailio), or sent to one
// contact only (Asterisk), in turn the holder and the other node. Every
// reply is taken and shown exactly once, in order, whichever path takes
// it: the holder's copy, a copy forwarded to the holder, a node taking the
// chat over, or a copy that reaches a node after the chat moved there.
func TestChatRepliesRaceResumes(t *testing.T) {
	t.Run("forked", func(t *testing.T) {
		raceRepliesWithResumes(t, func(round, holder int) []int { return []int{0, 1} })
	})
	t.Run("one contact", func(t *testing.T) {
		raceRepliesWithResumes(t, func(round, holder int) []int { return []int{(holder + round) % 2} })
	})
}

// raceRepliesWithResumes runs the rounds; reached names the nodes that get
// a copy of the round's reply.
func raceRepliesWithResumes(t *testing.T, reached func(round, holder int) []int) {
	nodes, ms := twoChatNodes(t)
	const agent = "sip:alice@pbx.test"
	const rounds = 40
	att := openChat(t, nodes[0], ms[0], agent, &eventLog{})
	var shown []string
	var seen uint64
	deadline := time.Now().Add(90 * time.Second)
	for round := range rounds {
		if time.Now().After(deadline) {
			t.Fatalf("%d rounds did not finish within 90s", rounds)
		}
		att.Detach()
		holder := 0
		if ms[1].Holds(att.ID()) {
			holder = 1
		}
		other := 1 - holder
		text := fmt.Sprintf("reply %d", round)
		in := agentReply(agent, text, fmt.Sprintf("call-%d 1 tag", round))
		next := &eventLog{}
		targets := reached(round, holder)
		codes := make([]int, len(targets))
		var resumed *chat.Attachment
		var resumeErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, node := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				codes[i] = ms[node].Message(in)
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resumed, resumeErr = ms[other].Resume(att.Token(), "w1", seen, next)
		}()
		close(start)
		wg.Wait()
		if resumeErr != nil {
			t.Fatalf("round %d: resume on %s: %v", round, nodes[other].e.Node(), resumeErr)
		}
		if !slices.ContainsFunc(codes, func(code int) bool { return code/100 == 2 }) {
			t.Fatalf("round %d: the reply to node(s) %v was not taken: answers %v", round, targets, codes)
		}
		att = resumed
		for _, ev := range next.messages() {
			if ev.Seq <= seen {
				t.Errorf("round %d: seq %d shown again (%q)", round, ev.Seq, ev.Text)
				continue
			}
			shown = append(shown, ev.Text)
			seen = ev.Seq
		}
		if err := att.Ack(seen); err != nil {
			t.Fatalf("round %d: ack: %v", round, err)
		}
		if t.Failed() {
			break
		}
	}
	var want []string
	for round := range len(shown) {
		want = append(want, fmt.Sprintf("reply %d", round))
	}
	if len(shown) != rounds || strings.Join(shown, "|") != strings.Join(want, "|") {
		t.Errorf("the visitor was shown %q, want each of %d replies once, in order", shown, rounds)
	}
}
