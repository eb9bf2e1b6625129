package chat

import (
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// fakeShared is an engine in memory for two Managers: records by chat id,
// slots per agent, and which nodes are alive.
type fakeShared struct {
	node string // whose view this is
	eng  *fakeEngine
}

type fakeEngine struct {
	mu       sync.Mutex
	recs     map[string]Record
	slots    map[string]string // agent -> chat id
	dead     map[string]bool
	managers map[string]*Manager
	// saveHook, when set, sees each record before Save stores it.
	saveHook func(rec Record)
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{recs: map[string]Record{}, slots: map[string]string{}, dead: map[string]bool{}, managers: map[string]*Manager{}}
}

func (f fakeShared) Create(rec Record, limit int) (string, error) {
	f.eng.mu.Lock()
	defer f.eng.mu.Unlock()
	if _, taken := f.eng.slots[rec.Agent]; taken {
		return "", ErrAgentBusy
	}
	f.eng.slots[rec.Agent] = rec.ID
	rec.Owner, rec.Slot = f.node, rec.Agent
	f.eng.recs[rec.ID] = rec
	return rec.Agent, nil
}

func (f fakeShared) Save(rec Record) error {
	f.eng.mu.Lock()
	hook := f.eng.saveHook
	f.eng.mu.Unlock()
	if hook != nil {
		hook(rec)
	}
	f.eng.mu.Lock()
	defer f.eng.mu.Unlock()
	if cur, ok := f.eng.recs[rec.ID]; !ok || (cur.Owner != f.node && cur.Owner != "") {
		return ErrMoved
	}
	f.eng.recs[rec.ID] = rec
	return nil
}

func (f fakeShared) Remove(rec Record, _ time.Time) {
	f.eng.mu.Lock()
	defer f.eng.mu.Unlock()
	delete(f.eng.recs, rec.ID)
	delete(f.eng.slots, rec.Agent)
}

func (f fakeShared) take(id string) (Record, error) {
	f.eng.mu.Lock()
	rec, ok := f.eng.recs[id]
	owner := rec.Owner
	m := f.eng.managers[owner]
	alive := owner != "" && !f.eng.dead[owner]
	f.eng.mu.Unlock()
	if !ok {
		return Record{}, ErrUnknownToken
	}
	if alive && owner != f.node {
		_, _ = m.Release(id, f.node) // it saves what it had
	}
	f.eng.mu.Lock()
	defer f.eng.mu.Unlock()
	rec = f.eng.recs[id]
	rec.Owner = f.node
	f.eng.recs[id] = rec
	return rec, nil
}

func (f fakeShared) TakeByToken(token, widgetID string) (Record, error) {
	return f.take(ChatIDOfToken(token))
}

func (f fakeShared) TakeForReply(id, agent string) (Record, error) {
	f.eng.mu.Lock()
	if id == "" {
		id = f.eng.slots[agent]
	}
	rec, ok := f.eng.recs[id]
	f.eng.mu.Unlock()
	if !ok {
		return Record{}, ErrUnknownToken
	}
	f.eng.mu.Lock()
	alive := rec.Owner != "" && !f.eng.dead[rec.Owner]
	f.eng.mu.Unlock()
	if alive && rec.Owner != f.node {
		return Record{Owner: rec.Owner}, ErrHeldElsewhere
	}
	return f.take(id)
}

func (f fakeShared) LastEnded(string) time.Time { return time.Time{} }

func (f fakeShared) Forward(node string, in sip.IncomingMessage) (int, error) {
	f.eng.mu.Lock()
	m := f.eng.managers[node]
	f.eng.mu.Unlock()
	return m.MessageForwarded(in), nil
}

func startNode(t *testing.T, eng *fakeEngine, node string) *harness {
	t.Helper()
	h := startWith(t, config.Chat{ResumeGrace: time.Minute}, func(o *Options) {
		o.Shared, o.Node = fakeShared{node: node, eng: eng}, node
	})
	eng.mu.Lock()
	eng.managers[node] = h.m
	eng.mu.Unlock()
	return h
}

// TestSharedChatMovesNodes: a chat opened on node a goes on on node b
// when its visitor resumes there: the same numbers, the unacknowledged
// reply replayed once, a reply that reaches a (a fork) or b (a forward)
// shown once, and the slot held across nodes.
func TestSharedChatMovesNodes(t *testing.T) {
	eng := newFakeEngine()
	a, b := startNode(t, eng, "a"), startNode(t, eng, "b")
	const agent = "sip:alice@pbx.test"
	att, s1 := a.open(t, "Ann", agent)
	if code := a.m.Message(reply(agent, "sip:frontdesk@pbx.test", "first")); code != 200 {
		t.Fatalf("reply on the holder: %d", code)
	}
	if ev := s1.next(t); ev.Kind != EventMessage || ev.Seq != 1 || ev.Text != "first" {
		t.Fatalf("first event %+v", ev)
	}
	if _, err := b.m.Open(Visitor{Name: "Ben", WidgetID: "w1", AgentURI: agent}, newSink()); err == nil {
		t.Fatal("a second agent-routed chat with alice opened on another node")
	}

	// The visitor comes back on b, having seen nothing.
	s2 := newSink()
	att2, err := b.m.Resume(att.Token(), "w1", 0, s2)
	if err != nil {
		t.Fatalf("resume on b: %v", err)
	}
	if ev := s1.next(t); ev.Kind != EventMoved {
		t.Errorf("a's widget got %+v, want moved", ev)
	}
	if ev := s2.next(t); ev.Kind != EventMessage || ev.Seq != 1 || ev.Text != "first" {
		t.Fatalf("replayed on b: %+v, want seq 1", ev)
	}
	if a.m.Holds(att.ID()) || !b.m.Holds(att.ID()) {
		t.Fatalf("holders after the resume: a %v, b %v", a.m.Holds(att.ID()), b.m.Holds(att.ID()))
	}

	// One reply, forked to both nodes: a forwards its copy; shown once.
	in := reply(agent, "sip:frontdesk@pbx.test", "second")
	in.ID = "call-1 1 tag"
	if ca, cb := a.m.Message(in), b.m.Message(in); ca != 200 || cb != 200 {
		t.Fatalf("answers to the copies: a %d, b %d; want 200 both", ca, cb)
	}
	if ev := s2.next(t); ev.Seq != 2 || ev.Text != "second" {
		t.Fatalf("second reply %+v", ev)
	}
	s2.none(t)
	if err := att2.Ack(2); err != nil {
		t.Fatal(err)
	}

	// b dies; a reply reaching a takes the chat back there, held (202).
	eng.mu.Lock()
	eng.dead["b"] = true
	eng.mu.Unlock()
	if code := a.m.Message(reply(agent, "sip:frontdesk@pbx.test", "third")); code != 202 {
		t.Fatalf("reply while the holder is dead: %d, want 202 (held)", code)
	}
	s3 := newSink()
	if _, err := a.m.Resume(att.Token(), "w1", 2, s3); err != nil {
		t.Fatal(err)
	}
	if ev := s3.next(t); ev.Seq != 3 || ev.Text != "third" {
		t.Fatalf("after the second move: %+v, want seq 3", ev)
	}
	s3.none(t)
}

// TestSharedReplyCopyAfterMove: a reply forked to both nodes is taken by
// the holder while the visitor is away; the visitor resumes on the other
// node, where the copy of the same MESSAGE arrives only then. It gets the
// first answer and is not shown again; a reply that is not a copy is.
func TestSharedReplyCopyAfterMove(t *testing.T) {
	eng := newFakeEngine()
	a, b := startNode(t, eng, "a"), startNode(t, eng, "b")
	const agent = "sip:alice@pbx.test"
	att, _ := a.open(t, "Ann", agent)
	att.Detach()
	in := reply(agent, "sip:frontdesk@pbx.test", "held")
	in.ID = "call-1 1 tag"
	if code := a.m.Message(in); code != 202 {
		t.Fatalf("reply while the visitor is away: %d, want 202", code)
	}
	s2 := newSink()
	if _, err := b.m.Resume(att.Token(), "w1", 0, s2); err != nil {
		t.Fatal(err)
	}
	if ev := s2.next(t); ev.Seq != 1 || ev.Text != "held" {
		t.Fatalf("replayed %+v, want seq 1", ev)
	}
	if code := b.m.Message(in); code != 202 {
		t.Errorf("the late copy: %d, want the first answer 202", code)
	}
	s2.none(t)
	next := reply(agent, "sip:frontdesk@pbx.test", "next")
	next.ID = "call-2 1 tag"
	if code := b.m.Message(next); code != 200 {
		t.Fatalf("next reply: %d", code)
	}
	if ev := s2.next(t); ev.Seq != 2 || ev.Text != "next" {
		t.Fatalf("next reply %+v, want seq 2", ev)
	}
}

// TestSharedReleaseKeepsLateReply: while the holder saves a chat it
// releases to the node the visitor resumes on, a reply reaches the holder.
// It is not taken into a copy of the chat that the release then
// overwrites: the visitor gets it once, on the new node.
func TestSharedReleaseKeepsLateReply(t *testing.T) {
	eng := newFakeEngine()
	a, b := startNode(t, eng, "a"), startNode(t, eng, "b")
	const agent = "sip:alice@pbx.test"
	att, _ := a.open(t, "Ann", agent)
	att.Detach()
	saving, proceed := make(chan struct{}), make(chan struct{})
	var hookOnce sync.Once
	eng.mu.Lock()
	eng.saveHook = func(rec Record) {
		if rec.Owner == "b" { // a's release to b
			hookOnce.Do(func() {
				close(saving)
				<-proceed
			})
		}
	}
	eng.mu.Unlock()
	s2 := newSink()
	resumed := make(chan error, 1)
	go func() {
		_, err := b.m.Resume(att.Token(), "w1", 0, s2)
		resumed <- err
	}()
	<-saving
	answered := make(chan int, 1)
	go func() {
		in := reply(agent, "sip:frontdesk@pbx.test", "late")
		in.ID = "call-1 1 tag"
		answered <- a.m.Message(in)
	}()
	// The reply either waits for the release (then follows the chat to b)
	// or, were it taken on a, would be answered now: give it the time.
	var code int
	select {
	case code = <-answered:
	case <-time.After(100 * time.Millisecond):
	}
	close(proceed)
	if err := <-resumed; err != nil {
		t.Fatalf("resume on b: %v", err)
	}
	if code == 0 {
		code = <-answered
	}
	if code/100 != 2 {
		t.Errorf("the reply got %d, want 2xx", code)
	}
	if ev := s2.next(t); ev.Kind != EventMessage || ev.Text != "late" {
		t.Fatalf("the visitor on b got %+v, want the late reply", ev)
	}
	s2.none(t)
}
