package chat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// Sender sends one SIP MESSAGE and returns its final status; *sip.UA
// satisfies it.
type Sender interface {
	SendMessage(ctx context.Context, m sip.OutgoingMessage) (int, error)
}

// Sink receives a chat's events. Deliver is called on the Manager's
// goroutines, in order per chat, and must not block.
type Sink interface {
	Deliver(ev Event)
}

// Event is one thing the widget shows.
type Event struct {
	Kind EventKind
	// Seq numbers a chat's messages and delivery results, from 1 in the
	// order they happened; 0 for typing, ended and moved.
	Seq      uint64
	ID       string // message id: the agent's message, or the visitor's one a delivery is about
	ClientID string // the widget's id of a visitor message (delivery only)
	Text     string // the agent's text (message only)
	Time     time.Time
	State    DeliveryState // delivery only
	Reason   FailReason    // failed delivery; ended: why
	Active   bool          // typing only
}

// Visitor opens a chat.
type Visitor struct {
	Name       string // shown to the agent as the From display name
	WidgetID   string
	WidgetName string // named in the new-chat notice
	AgentID    string
	AgentURI   string // where messages go; its user@host is the agent's identity
	Session    string // the widget session, for logs
	// Context is what the visitor said in the widget's form and the page
	// they are on; the new-chat notice shows it.
	Context Context `json:",omitzero"`
}

// Options configure a Manager.
type Options struct {
	Config config.Chat
	Sender Sender
	// Username and Domain are the gateway's SIP identity; subaddresses are
	// Username+chatid@Domain.
	Username, Domain string
	Log              *slog.Logger
	Now              func() time.Time // default time.Now
	HTTPClient       *http.Client     // webhook deliveries (default: a plain client)
	// Shared keeps chats in a cluster's engine (see shared.go); nil: this
	// node alone. Node is this node's name there.
	Shared Shared
	Node   string
}

// queueLimit bounds a chat's outgoing queue (texts and typing indicators).
const queueLimit = 64

// timing holds the intervals tests shorten.
type timing struct {
	tick            time.Duration // how often Run checks grace periods and typing
	typingResend    time.Duration // at most one "active" per interval
	typingRefresh   time.Duration // the refresh interval announced in "active"
	typingIdle      time.Duration // typing stops counting after this without activity
	agentTypingIdle time.Duration // an agent's "active" without refresh lasts this long
	webhookBackoff  time.Duration // first retry delay
	webhookMax      time.Duration
}

func defaultTiming() timing {
	return timing{
		tick: time.Second, typingResend: 60 * time.Second, typingRefresh: 90 * time.Second,
		typingIdle: 15 * time.Second, agentTypingIdle: 120 * time.Second,
		webhookBackoff: time.Second, webhookMax: 30 * time.Second,
	}
}

// Manager holds every chat of the gateway and routes MESSAGEs from the PBX
// to them. Run must be running for chats to open.
type Manager struct {
	log    *slog.Logger
	send   Sender
	user   string // lower case, for subaddress matching
	domain string
	now    func() time.Time
	http   *http.Client
	tm     timing
	shared Shared // nil: this node alone
	node   string
	seen   messageOnce // MESSAGEs answered, in a cluster

	mu       sync.Mutex
	cfg      config.Chat
	runCtx   context.Context // nil until Run starts
	stopping bool
	byToken  map[string]*Conversation
	byID     map[string]*Conversation
	byAgent  map[string][]*Conversation // normalized agent AOR -> live chats
	taking   map[string]int             // chat id -> takeovers under way (cluster)
	ended    map[string]*Conversation   // agent AOR -> its last agent-routed chat, for recentWindow after it ended
	wg       sync.WaitGroup             // chat workers, left-message legs, refusal notices
}

// NewManager builds a Manager; nothing runs until Run.
func NewManager(o Options) *Manager {
	m := &Manager{
		log: o.Log, send: o.Sender, user: strings.ToLower(o.Username), domain: o.Domain,
		now: o.Now, http: o.HTTPClient, tm: defaultTiming(), cfg: withDefaults(o.Config),
		byToken: map[string]*Conversation{}, byID: map[string]*Conversation{}, byAgent: map[string][]*Conversation{},
		ended: map[string]*Conversation{}, shared: o.Shared, node: o.Node,
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.http == nil {
		m.http = &http.Client{}
	}
	return m
}

// withDefaults fills what config validation fills, for callers that build
// config.Chat by hand.
func withDefaults(c config.Chat) config.Chat {
	if c.MaxMessageLength <= 0 {
		c.MaxMessageLength = config.DefaultChatMessageLength
	}
	if c.MessagesPerMinute <= 0 {
		c.MessagesPerMinute = config.DefaultChatPerMinute
	}
	if c.MaxPerAgent <= 0 {
		c.MaxPerAgent = config.DefaultChatPerAgent
	}
	if c.SendTimeout <= 0 {
		c.SendTimeout = config.DefaultChatSendTimeout
	}
	if c.ResumeGrace <= 0 {
		c.ResumeGrace = config.DefaultResumeGrace
	}
	if c.ReplyRouting == "" {
		c.ReplyRouting = routingAgent
	}
	if c.Handover <= 0 {
		c.Handover = config.DefaultChatHandover
	}
	return c
}

const (
	routingAgent      = "agent"
	routingSubaddress = "subaddress"
)

// SetConfig applies a new chat config. Limits apply at once; the reply
// routing applies to chats opened from now on, open chats keep theirs.
func (m *Manager) SetConfig(c config.Chat) {
	m.mu.Lock()
	m.cfg = withDefaults(c)
	m.mu.Unlock()
}

func (m *Manager) config() config.Chat {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg
}

// Run owns the timers (grace periods, typing) until ctx ends; then every
// chat ends (the agent is told the visitor left) and Run returns once all
// chat goroutines have finished.
func (m *Manager) Run(ctx context.Context) {
	m.mu.Lock()
	if m.runCtx != nil || m.stopping {
		m.mu.Unlock()
		m.log.Error("chat manager run twice")
		return
	}
	m.runCtx = ctx
	m.mu.Unlock()
	t := time.NewTicker(m.tm.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.shutdown()
			m.wg.Wait()
			return
		case <-t.C:
			m.sweep()
		}
	}
}

func (m *Manager) shutdown() {
	m.mu.Lock()
	m.stopping = true
	live := make([]*Conversation, 0, len(m.byToken))
	for _, c := range m.byToken {
		live = append(live, c)
	}
	m.mu.Unlock()
	for _, c := range live {
		c.end(endShutdown)
	}
}

// sweep ends chats whose grace period is over, expires typing states and
// forgets chats that ended more than recentWindow ago.
func (m *Manager) sweep() {
	now := m.now()
	m.seen.sweep(now)
	m.mu.Lock()
	live := make([]*Conversation, 0, len(m.byToken))
	for _, c := range m.byToken {
		live = append(live, c)
	}
	for agent, c := range m.ended {
		if !c.recentAt(now) {
			delete(m.ended, agent)
		}
	}
	m.mu.Unlock()
	for _, c := range live {
		c.tick(now)
	}
}

// Open starts a chat between v and its agent. Events go to s. The agent's
// first MESSAGE of the chat is the new-chat notice.
func (m *Manager) Open(v Visitor, s Sink) (*Attachment, error) {
	agent := normalizeAOR(v.AgentURI)
	if s == nil || agent == "" || !strings.Contains(agent, "@") {
		return nil, fmt.Errorf("open chat with %q: %w", v.AgentURI, ErrBadRequest)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runCtx == nil || m.stopping {
		return nil, fmt.Errorf("open chat with %s: %w", agent, ErrNotRunning)
	}
	mode := m.cfg.ReplyRouting
	limit := m.agentLimitLocked(agent)
	chats := m.byAgent[agent]
	if len(chats) >= limit {
		return nil, fmt.Errorf("open chat with %s: %w", agent, ErrAgentBusy)
	}
	id := newChatID()
	for i := 0; i < 8 && m.byID[id] != nil; i++ {
		id = newChatID()
	}
	c := &Conversation{
		m: m, id: id, token: newToken(id), visitor: v, agent: agent, to: strings.TrimSpace(v.AgentURI), mode: mode,
		out: make(chan outItem, queueLimit), endc: make(chan endReason, 1), finished: make(chan struct{}),
		sink: s, gen: 1,
	}
	if c.mode == routingSubaddress {
		c.fromUser = m.user + "+" + id
	}
	if prev := m.ended[agent]; c.mode == routingAgent && prev != nil && prev.recentAt(m.now()) {
		// The agent just had another chat: its end notice goes first, and
		// replies wait out the hand-over (see handover.go).
		c.after, c.hold = prev.finished, m.cfg.Handover
	}
	m.byToken[c.token] = c
	m.byID[id] = c
	m.byAgent[agent] = append(chats, c)
	if m.shared != nil {
		// The cluster's slots decide: the agent may chat on another node.
		// Called without m.mu held; c is reserved in the tables meanwhile.
		m.mu.Unlock()
		err := m.openShared(c, limit)
		m.mu.Lock()
		if err != nil {
			m.forgetLocked(c)
			return nil, fmt.Errorf("open chat with %s: %w", agent, err)
		}
		if m.runCtx == nil || m.stopping {
			m.forgetLocked(c)
			return nil, fmt.Errorf("open chat with %s: %w", agent, ErrNotRunning)
		}
	}
	m.wg.Add(1)
	go c.run(context.WithoutCancel(m.runCtx))
	m.log.Info("chat opened", "chat", id, "agent", agent, "widget", v.WidgetID, "session", v.Session, "routing", mode, "handover", c.hold)
	return &Attachment{c: c, gen: c.gen}, nil
}

// agentLimitLocked is how many chats agent may have at once: one while
// replies are told apart by the agent alone (agent routing, or a chat of
// the agent that began with it), else chat.max_per_agent.
func (m *Manager) agentLimitLocked(agent string) int {
	if m.cfg.ReplyRouting == routingAgent {
		return 1
	}
	for _, c := range m.byAgent[agent] {
		if c.mode == routingAgent {
			return 1
		}
	}
	return m.cfg.MaxPerAgent
}

// AgentBusy reports whether Open would refuse a chat with agentURI
// because the agent's chats on this node are at their limit (in a cluster
// a chat on another node may fill it too; Open asks the cluster).
func (m *Manager) AgentBusy(agentURI string) bool {
	agent := normalizeAOR(agentURI)
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byAgent[agent]) >= m.agentLimitLocked(agent)
}

// openShared claims one of the agent's slots across the cluster and saves
// the new chat. When the engine is out of reach the chat opens on this
// node alone.
func (m *Manager) openShared(c *Conversation, limit int) error {
	if c.mode == routingAgent && c.hold == 0 {
		if at := m.shared.LastEnded(c.agent); !at.IsZero() && m.now().Sub(at) < recentWindow {
			c.hold = m.config().Handover // the agent's previous chat was on another node
		}
	}
	c.mu.Lock()
	rec := c.recordLocked()
	c.mu.Unlock()
	slot, err := m.shared.Create(rec, limit)
	switch {
	case errors.Is(err, ErrAgentBusy):
		return err
	case err != nil:
		m.log.Warn("chat opened on this node alone: the cluster engine is out of reach", "chat", c.id, "err", err)
	}
	c.mu.Lock()
	c.slot = slot
	c.mu.Unlock()
	return nil
}

// Resume attaches a live chat of widget widgetID to s, the visitor having
// seen every event up to seq (0: none). Nothing is changed when the token
// is unknown, ended or belongs to another widget. Otherwise a sink still
// attached is told EventMoved and gets nothing more, then every kept event
// after seq is delivered to s, in order, before any new one.
func (m *Manager) Resume(token, widgetID string, seq uint64, s Sink) (*Attachment, error) {
	if s == nil {
		return nil, fmt.Errorf("resume chat: %w", ErrBadRequest)
	}
	// In a cluster another node may take the chat over while this one
	// does (it judged this one gone): then it is taken back once.
	for range 2 {
		a, err := m.resume(token, widgetID, seq, s)
		if !errors.Is(err, errTakenMeanwhile) {
			return a, err
		}
	}
	return nil, fmt.Errorf("resume chat: %w", ErrHeldElsewhere)
}

// errTakenMeanwhile: another node took the chat over during a Resume.
var errTakenMeanwhile = errors.New("chat: taken over by another node meanwhile")

func (m *Manager) resume(token, widgetID string, seq uint64, s Sink) (*Attachment, error) {
	m.mu.Lock()
	c := m.byToken[token]
	m.mu.Unlock()
	if c == nil && m.shared != nil {
		// Held by another node, or by one that is gone: take it over.
		done := m.takingChat(ChatIDOfToken(token))
		rec, err := m.shared.TakeByToken(token, widgetID)
		if err != nil {
			done()
			m.log.Info("chat resume refused by the cluster", "err", err)
			return nil, ErrUnknownToken
		}
		c, err = m.adopt(rec)
		done()
		if err != nil {
			return nil, fmt.Errorf("resume chat: %w", err)
		}
	}
	if c == nil {
		return nil, ErrUnknownToken
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.released:
		return nil, errTakenMeanwhile
	case c.ended || c.visitor.WidgetID != widgetID:
		return nil, ErrUnknownToken
	}
	c.kept.ack(seq)
	c.deadline = time.Time{}
	// Saved before anything reaches s: a node that took the chat over
	// meanwhile makes this save fail, and s has seen nothing of it.
	c.saveLocked()
	if c.released {
		return nil, errTakenMeanwhile
	}
	now := m.now()
	if old := c.sink; old != nil {
		old.Deliver(Event{Kind: EventMoved, Time: now})
	}
	c.gen++
	replay := c.kept.after(seq)
	for _, ev := range replay {
		s.Deliver(ev)
	}
	c.sink = s
	m.log.Info("chat resumed", "chat", c.id, "seen", seq, "replayed", len(replay))
	return &Attachment{c: c, gen: c.gen}, nil
}

// forgetLocked drops c from the tables. The caller holds m.mu.
func (m *Manager) forgetLocked(c *Conversation) {
	delete(m.byToken, c.token)
	delete(m.byID, c.id)
	chats := m.byAgent[c.agent]
	for i, o := range chats {
		if o == c {
			chats = append(chats[:i:i], chats[i+1:]...)
			break
		}
	}
	if len(chats) == 0 {
		delete(m.byAgent, c.agent)
	} else {
		m.byAgent[c.agent] = chats
	}
}

// remove forgets c; its token stops working and its agent slot is free.
// An agent-routed chat is remembered as the agent's last one for
// recentWindow.
func (m *Manager) remove(c *Conversation) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forgetLocked(c)
	if c.mode == routingAgent {
		m.ended[c.agent] = c
	}
}

// Chats returns the number of live chats (attached or within their grace
// period).
func (m *Manager) Chats() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byToken)
}
