package chat

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-gw/frontdesk/sip"
)

// Chats in a cluster. Without Options.Shared a Manager holds its chats
// alone, as a single gateway does. With it (package cluster implements
// Shared on NATS JetStream) every chat's state is also kept in the engine,
// written before anything that must survive the node is confirmed: an
// agent reply is saved before the PBX gets 200, a delivery result before
// the widget sees it. One node at a time holds a chat (its Record.Owner);
// a visitor who reconnects to another node, or an agent reply that reaches
// a node whose holder is gone, makes that node take the chat over and go
// on from the saved state: the same sequence numbers, the events the
// widget has not acknowledged, the hand-over state. A holder that is
// asked to let go (Release) stops without telling the agent anything.

// Shared is where a cluster keeps chats.
type Shared interface {
	// Create saves a new chat's record, holding one of its agent's limit
	// chat slots across the cluster, and returns the slot (kept in the
	// record); ErrAgentBusy when all are taken.
	Create(rec Record, limit int) (slot string, err error)
	// Save writes the record of a chat this node holds; ErrMoved when
	// another node holds it now.
	Save(rec Record) error
	// Remove forgets an ended chat and frees its slot; an agent-routed
	// chat's end is remembered for the next chat's hand-over.
	Remove(rec Record, endedAt time.Time)
	// TakeByToken makes this node the holder of the chat with token (a
	// live holder is asked to let go first) and returns its record;
	// ErrUnknownToken when there is none.
	TakeByToken(token, widgetID string) (Record, error)
	// TakeForReply makes this node the holder of the chat a reply belongs
	// to (by its id, or for agent routing by the agent's address) when no
	// live node holds it; ErrHeldElsewhere when one does, with that node
	// as the record's Owner ("" when it is not known which), and
	// ErrUnknownToken when there is no such chat.
	TakeForReply(id, agent string) (Record, error)
	// LastEnded is when the agent's last agent-routed chat ended anywhere
	// in the cluster (zero: not within recentWindow).
	LastEnded(agent string) time.Time
	// Forward hands a MESSAGE to node, the chat's holder, and returns the
	// status it answered.
	Forward(node string, in sip.IncomingMessage) (int, error)
}

// ErrHeldElsewhere means a chat is held by another live node.
var ErrHeldElsewhere = errors.New("chat: held by another node")

// Record is a chat's state as the engine keeps it.
type Record struct {
	ID       string        `json:"id"`
	Token    string        `json:"token"`
	Visitor  Visitor       `json:"visitor"`
	Agent    string        `json:"agent"`
	To       string        `json:"to"`
	Mode     string        `json:"mode"`
	FromUser string        `json:"from_user,omitempty"`
	N        int           `json:"n"`
	Seq      uint64        `json:"seq"`
	Acked    uint64        `json:"acked"`
	Events   []Event       `json:"events,omitempty"`
	NoticeAt time.Time     `json:"notice_at,omitzero"`
	Hold     time.Duration `json:"hold,omitempty"`
	Recent   []string      `json:"recent,omitempty"`
	Refusals int           `json:"refusals,omitempty"`
	// Replies are the agent MESSAGEs the chat answered last (replies.go),
	// so that a copy of one reaching a later holder is not shown again.
	Replies []AnsweredReply `json:"replies,omitempty"`
	// Deadline ends the grace period of a chat whose visitor is away
	// (zero while a widget holds it).
	Deadline time.Time `json:"deadline,omitzero"`
	// Owner is the node holding the chat ("" after a Release).
	Owner string `json:"owner"`
	// Slot is the agent chat slot the chat holds (Shared's own key).
	Slot string `json:"slot,omitempty"`
	// Transcript is the chat so far, for the visitor who asks for it.
	Transcript        []TranscriptLine `json:"transcript,omitempty"`
	TranscriptDropped int              `json:"transcript_dropped,omitempty"`
}

// ChatIDOfToken is the chat id a resume token names (tokens are
// "<chat id>.<secret>"), or "".
func ChatIDOfToken(token string) string {
	id, _, ok := strings.Cut(token, ".")
	if !ok {
		return ""
	}
	return id
}

// recordLocked snapshots c. The caller holds c.mu.
func (c *Conversation) recordLocked() Record {
	return Record{
		ID: c.id, Token: c.token, Visitor: c.visitor, Agent: c.agent, To: c.to, Mode: c.mode,
		FromUser: c.fromUser, N: c.n, Seq: c.kept.seq, Acked: c.kept.acked,
		Events:   append([]Event(nil), c.kept.events...),
		NoticeAt: c.noticeAt, Hold: c.hold, Recent: append([]string(nil), c.recent...),
		Refusals: c.refusals, Deadline: c.deadline, Owner: c.m.node, Slot: c.slot,
		Replies:    append([]AnsweredReply(nil), c.replies...),
		Transcript: append([]TranscriptLine(nil), c.transcript...), TranscriptDropped: c.transcriptDropped,
	}
}

// saveLocked writes c's state to the engine, if there is one. A node that
// lost the chat to another stops holding it. The caller holds c.mu.
func (c *Conversation) saveLocked() {
	sh := c.m.shared
	if sh == nil || c.ended || c.releasing {
		return
	}
	err := sh.Save(c.recordLocked())
	switch {
	case err == nil:
	case errors.Is(err, ErrMoved):
		c.m.log.Warn("chat taken over by another node", "chat", c.id)
		if c.sink != nil {
			// The widget here is live: told, it resumes (and takes the
			// chat back) rather than wait on a chat that is not here.
			c.sink.Deliver(Event{Kind: EventMoved, Time: c.m.now()})
		}
		c.releaseLocked()
	default:
		// The engine is out of reach: the chat goes on here; the next save
		// catches up.
		c.m.log.Debug("chat state not saved to the cluster", "chat", c.id, "err", err)
	}
}

// keptFrom restores numbered events from a record.
func keptFrom(r Record) keptEvents {
	k := keptEvents{seq: r.Seq, acked: r.Acked, events: append([]Event(nil), r.Events...)}
	for _, ev := range k.events {
		size := eventSize(ev)
		k.bytes += size
		if ev.Seq > k.acked {
			k.unackedBytes += size
		}
	}
	return k
}

// Adopt takes over a chat whose holder is gone (the cluster finds those):
// it goes on here, detached, and ends when its grace period does unless a
// widget resumes it.
func (m *Manager) Adopt(r Record) error {
	_, err := m.adopt(r)
	return err
}

// adopt makes a Conversation of a record this node just took over,
// detached until a widget resumes it, and starts its worker. The caller
// holds no lock.
func (m *Manager) adopt(r Record) (*Conversation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runCtx == nil || m.stopping {
		return nil, ErrNotRunning
	}
	if c := m.byID[r.ID]; c != nil {
		return c, nil
	}
	c := &Conversation{
		m: m, id: r.ID, token: r.Token, visitor: r.Visitor, agent: r.Agent, to: r.To, mode: r.Mode,
		fromUser: r.FromUser, out: make(chan outItem, queueLimit), endc: make(chan endReason, 1),
		finished: make(chan struct{}), gen: 1, n: r.N, kept: keptFrom(r), noticeAt: r.NoticeAt,
		hold: r.Hold, recent: r.Recent, refusals: r.Refusals, deadline: r.Deadline, slot: r.Slot,
		replies:    r.Replies,
		transcript: r.Transcript, transcriptDropped: r.TranscriptDropped,
	}
	for _, l := range c.transcript {
		c.transcriptBytes += len(l.Text)
	}
	if c.deadline.IsZero() {
		c.deadline = m.now().Add(m.cfg.ResumeGrace)
	}
	m.byToken[c.token] = c
	m.byID[c.id] = c
	m.byAgent[c.agent] = append(m.byAgent[c.agent], c)
	m.wg.Add(1)
	go c.run(context.WithoutCancel(m.runCtx))
	m.log.Info("chat taken over from another node", "chat", c.id, "agent", c.agent, "seq", c.kept.seq, "acked", c.kept.acked)
	return c, nil
}

// Holds reports whether this node holds chat id, or is taking it over
// (between the engine's compare-and-set and the chat going on here, so
// that no other node takes it from under this one meanwhile).
func (m *Manager) Holds(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byID[id] != nil || m.taking[id] > 0
}

// takingChat marks chat id as being taken over by this node until the
// returned func is called.
func (m *Manager) takingChat(id string) (done func()) {
	m.mu.Lock()
	if m.taking == nil {
		m.taking = map[string]int{}
	}
	m.taking[id]++
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.taking[id]--; m.taking[id] <= 0 {
			delete(m.taking, id)
		}
	}
}

// Release lets go of a chat this node holds, for node to that takes it
// over ("": any, a draining node): its state is saved with that owner,
// the widget attached here (if any) is told the chat moved, and the agent
// is told nothing. held is false when this node does not hold it. The
// state is saved before the chat leaves this node's tables, all under the
// chat's lock: a reply that reaches this node meanwhile waits for it, then
// finds the chat where it went, and nothing this node adds can be
// overwritten by the release.
func (m *Manager) Release(id, to string) (held bool, err error) {
	m.mu.Lock()
	c := m.byID[id]
	m.mu.Unlock()
	if c == nil {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false, nil
	}
	c.releasing = true
	c.failQueuedLocked()
	if c.sink != nil {
		c.sink.Deliver(Event{Kind: EventMoved, Time: m.now()})
		c.sink = nil
	}
	if c.deadline.IsZero() {
		c.deadline = m.now().Add(m.config().ResumeGrace)
	}
	if m.shared != nil {
		r := c.recordLocked()
		r.Owner = to
		if err = m.shared.Save(r); err != nil {
			err = fmt.Errorf("save released chat %s: %w", c.id, err)
		}
	}
	c.releaseLocked()
	m.log.Info("chat handed to another node", "chat", c.id)
	return true, err
}

// ReleaseAll lets go of every chat (a draining node in a cluster): each
// is saved without an owner for another node to take over.
func (m *Manager) ReleaseAll() int {
	m.mu.Lock()
	ids := make([]string, 0, len(m.byID))
	for id := range m.byID {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	n := 0
	for _, id := range ids {
		held, err := m.Release(id, "")
		if err != nil {
			m.log.Warn("released chat not saved", "chat", id, "err", err)
		}
		if held && m.shared != nil {
			n++
		}
	}
	return n
}

// failQueuedLocked reports the texts still queued as failed (they were not
// sent from here; the visitor may send them again). The caller holds c.mu.
func (c *Conversation) failQueuedLocked() {
	for {
		select {
		case it := <-c.out:
			if it.kind == itemText {
				c.emitLocked(Event{Kind: EventDelivery, ID: it.id, ClientID: it.clientID, Time: c.m.now(),
					State: DeliveryFailed, Reason: ReasonError})
			}
		default:
			return
		}
	}
}

// releaseLocked stops holding c here without ending it: it leaves the
// Manager's tables and its worker stops without a word to the agent. The
// caller holds c.mu.
func (c *Conversation) releaseLocked() {
	if c.ended {
		return
	}
	c.ended, c.released = true, true
	c.sink = nil
	c.m.forget(c) // no path takes c.mu while holding m.mu
	c.endc <- endReleased
}

// forget drops a released chat from the tables (not remembered as ended).
func (m *Manager) forget(c *Conversation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byID[c.id] == c {
		m.forgetLocked(c)
	}
}

// Each MESSAGE is answered once: the PBX may fork it to this node and
// another node may forward its copy here too. The first copy is handled,
// later ones (same sip.IncomingMessage.ID) get the same status.
const (
	onceKeep = time.Minute // longer than a MESSAGE transaction lives (64*T1)
	onceMax  = 10000       // bound; beyond it copies are not recognised
	onceWait = 5 * time.Second
)

type onceEntry struct {
	done chan struct{}
	code int
	at   time.Time
}

type messageOnce struct {
	mu      sync.Mutex
	entries map[string]*onceEntry
}

// once runs handle for the first copy of in and returns its status for
// every copy. Alone (no Shared) every MESSAGE is handled as it comes.
func (m *Manager) once(in sip.IncomingMessage, handle func() int) int {
	if m.shared == nil || in.ID == "" {
		return handle()
	}
	o := &m.seen
	now := m.now()
	o.mu.Lock()
	if o.entries == nil {
		o.entries = map[string]*onceEntry{}
	}
	if e := o.entries[in.ID]; e != nil {
		o.mu.Unlock()
		select {
		case <-e.done:
			return e.code
		case <-time.After(onceWait):
			return statusElsewhere
		}
	}
	e := &onceEntry{done: make(chan struct{}), at: now}
	if len(o.entries) < onceMax {
		o.entries[in.ID] = e
	}
	o.mu.Unlock()
	e.code = handle()
	close(e.done)
	return e.code
}

// sweepOnce forgets copies older than onceKeep.
func (o *messageOnce) sweep(now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for id, e := range o.entries {
		if now.Sub(e.at) > onceKeep {
			delete(o.entries, id)
		}
	}
}
