package cluster

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// Chats (chat.Shared): the chats bucket holds
//
//   - c.<chat id>: the chat's chat.Record, written by its holder with
//     compare-and-set on the revision it last wrote, so a node that lost a
//     chat to another cannot overwrite it;
//   - s.<agent>.<n>: one of the agent's chat slots (chat.max_per_agent, 1
//     with agent routing), taken with Create: the limit holds across nodes;
//   - e.<agent>: when the agent's last agent-routed chat ended, for the
//     next one's hand-over wherever it opens.
//
// A node takes a chat over with compare-and-set on the record's owner: a
// visitor resuming here (a live holder is asked to let go first, over the
// subject <name>.chat.release.<node>), a reply no live node holds, or a
// chat whose holder died (the sweep, every lease period).

// ChatHolder is this node's chat manager, as the engine needs it.
type ChatHolder interface {
	Release(id, to string) (held bool, err error)
	Adopt(r chat.Record) error
	Holds(id string) bool
	MessageForwarded(in sip.IncomingMessage) int
}

// takeTries bounds the rounds of taking a chat over: each lost
// compare-and-set, or release by a holder, costs one, and a chat moving
// between nodes while replies race its resume costs a few.
const takeTries = 6

// errOutOfReach means the engine is not reached now.
var errOutOfReach = errors.New("cluster: engine out of reach")

// opTimeout bounds one engine operation on the chat path.
const opTimeout = 2 * time.Second

type chatRevs struct {
	mu   sync.Mutex
	revs map[string]uint64 // chat id -> revision of the record we last wrote
}

func (r *chatRevs) get(id string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.revs[id]
}

func (r *chatRevs) set(id string, rev uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.revs == nil {
		r.revs = map[string]uint64{}
	}
	if rev == 0 {
		delete(r.revs, id)
		return
	}
	r.revs[id] = rev
}

// SetChats connects the chat manager (set before Run).
func (e *Engine) SetChats(h ChatHolder) { e.chats = h }

func chatKey(id string) string { return "c." + id }

func agentKey(agent string) string { return base64.RawURLEncoding.EncodeToString([]byte(agent)) }

func (e *Engine) chatBucket() (jetstream.KeyValue, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil || e.cur.chats == nil {
		return nil, errOutOfReach
	}
	return e.cur.chats, nil
}

func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

// Create implements chat.Shared.
func (e *Engine) Create(rec chat.Record, limit int) (string, error) {
	kv, err := e.chatBucket()
	if err != nil {
		return "", err
	}
	ctx, cancel := opCtx()
	defer cancel()
	slot, err := e.claimSlot(ctx, kv, rec.Agent, rec.ID, limit)
	if err != nil {
		return "", err
	}
	rec.Slot, rec.Owner = slot, e.node
	data, _ := json.Marshal(rec)
	rev, err := kv.Create(ctx, chatKey(rec.ID), data)
	if err != nil {
		_ = kv.Delete(ctx, slot)
		return "", fmt.Errorf("save chat %s: %w", rec.ID, err)
	}
	e.chatRevs.set(rec.ID, rev)
	return slot, nil
}

// claimSlot takes a free slot of agent's limit for chat id. A slot whose
// chat no longer exists (its end was not written while the engine was out
// of reach) is taken back.
func (e *Engine) claimSlot(ctx context.Context, kv jetstream.KeyValue, agent, id string, limit int) (string, error) {
	limit = max(1, limit)
	for pass := range 2 {
		for n := range limit {
			key := "s." + agentKey(agent) + "." + strconv.Itoa(n)
			_, err := kv.Create(ctx, key, []byte(id))
			if err == nil {
				return key, nil
			}
			if !errors.Is(err, jetstream.ErrKeyExists) {
				return "", fmt.Errorf("claim chat slot of %s: %w", agent, err)
			}
			if pass == 0 {
				e.dropStaleSlot(ctx, kv, key)
			}
		}
	}
	return "", chat.ErrAgentBusy
}

func (e *Engine) dropStaleSlot(ctx context.Context, kv jetstream.KeyValue, key string) {
	en, err := kv.Get(ctx, key)
	if err != nil {
		return
	}
	if _, err := kv.Get(ctx, chatKey(string(en.Value()))); errors.Is(err, jetstream.ErrKeyNotFound) {
		_ = kv.Delete(ctx, key, jetstream.LastRevision(en.Revision()))
	}
}

// Save implements chat.Shared.
func (e *Engine) Save(rec chat.Record) error {
	kv, err := e.chatBucket()
	if err != nil {
		return err
	}
	ctx, cancel := opCtx()
	defer cancel()
	owner := rec.Owner
	data, _ := json.Marshal(rec)
	rev, err := kv.Update(ctx, chatKey(rec.ID), data, e.chatRevs.get(rec.ID))
	if isWrongRevision(err) || errors.Is(err, jetstream.ErrKeyNotFound) {
		en, gerr := kv.Get(ctx, chatKey(rec.ID))
		if gerr != nil {
			return chat.ErrMoved // ended elsewhere
		}
		var cur chat.Record
		if json.Unmarshal(en.Value(), &cur) != nil || cur.Owner != e.node {
			return chat.ErrMoved
		}
		rev, err = kv.Update(ctx, chatKey(rec.ID), data, en.Revision())
	}
	if err != nil {
		return fmt.Errorf("save chat %s: %w", rec.ID, err)
	}
	if owner != e.node {
		rev = 0 // released: not ours any more
	}
	e.chatRevs.set(rec.ID, rev)
	return nil
}

// Remove implements chat.Shared.
func (e *Engine) Remove(rec chat.Record, endedAt time.Time) {
	kv, err := e.chatBucket()
	e.chatRevs.set(rec.ID, 0)
	if err != nil {
		return // the sweep of slots takes it back later
	}
	ctx, cancel := opCtx()
	defer cancel()
	if err := kv.Delete(ctx, chatKey(rec.ID)); err != nil {
		e.log.Debug("cluster chat record not removed", "chat", rec.ID, "err", err)
	}
	if rec.Slot != "" {
		if en, err := kv.Get(ctx, rec.Slot); err == nil && string(en.Value()) == rec.ID {
			_ = kv.Delete(ctx, rec.Slot, jetstream.LastRevision(en.Revision()))
		}
	}
	if rec.Mode == "agent" {
		at, _ := endedAt.MarshalText()
		_, _ = kv.Put(ctx, "e."+agentKey(rec.Agent), at)
	}
}

// LastEnded implements chat.Shared.
func (e *Engine) LastEnded(agent string) time.Time {
	kv, err := e.chatBucket()
	if err != nil {
		return time.Time{}
	}
	ctx, cancel := opCtx()
	defer cancel()
	en, err := kv.Get(ctx, "e."+agentKey(agent))
	if err != nil {
		return time.Time{}
	}
	var at time.Time
	_ = at.UnmarshalText(en.Value())
	return at
}

// loadChat reads a chat's record and revision.
func loadChat(ctx context.Context, kv jetstream.KeyValue, id string) (chat.Record, uint64, error) {
	en, err := kv.Get(ctx, chatKey(id))
	if err != nil {
		return chat.Record{}, 0, chat.ErrUnknownToken
	}
	var rec chat.Record
	if err := json.Unmarshal(en.Value(), &rec); err != nil || rec.ID != id {
		return chat.Record{}, 0, chat.ErrUnknownToken
	}
	return rec, en.Revision(), nil
}

// takeOver makes this node the record's owner (compare-and-set on rev).
func (e *Engine) takeOver(ctx context.Context, kv jetstream.KeyValue, rec chat.Record, rev uint64) (chat.Record, error) {
	rec.Owner = e.node
	data, _ := json.Marshal(rec)
	nrev, err := kv.Update(ctx, chatKey(rec.ID), data, rev)
	if err != nil {
		return chat.Record{}, fmt.Errorf("take chat %s over: %w", rec.ID, err)
	}
	e.chatRevs.set(rec.ID, nrev)
	return rec, nil
}

func (e *Engine) nodeLive(name string) bool {
	for _, n := range e.nodes.live(time.Now(), e.ttl, e.node, false) {
		if n == name {
			return true
		}
	}
	return false
}

// TakeByToken implements chat.Shared. A live holder is asked to release
// the chat to this node: it saves it with this node as owner, so no other
// node sees it without one meanwhile.
func (e *Engine) TakeByToken(token, widgetID string) (chat.Record, error) {
	kv, err := e.chatBucket()
	if err != nil {
		return chat.Record{}, err
	}
	id := chat.ChatIDOfToken(token)
	if id == "" {
		return chat.Record{}, chat.ErrUnknownToken
	}
	ctx, cancel := opCtx()
	defer cancel()
	for range takeTries {
		rec, rev, err := loadChat(ctx, kv, id)
		if err != nil {
			return chat.Record{}, err
		}
		if subtle.ConstantTimeCompare([]byte(rec.Token), []byte(token)) != 1 || rec.Visitor.WidgetID != widgetID {
			return chat.Record{}, chat.ErrUnknownToken
		}
		if rec.Owner != "" && rec.Owner != e.node && e.nodeLive(rec.Owner) {
			switch held, err := e.ask(ctx, rec.Owner, opRelease, id); {
			case err != nil:
				return chat.Record{}, err
			case held:
				continue // read what it saved
			}
		}
		got, err := e.takeOver(ctx, kv, rec, rev)
		if err == nil {
			return got, nil
		}
	}
	return chat.Record{}, fmt.Errorf("take chat %s over: %w", id, chat.ErrHeldElsewhere)
}

// TakeForReply implements chat.Shared. A lost compare-and-set is not the
// end: the node that won may be the holder now, and the caller forwards
// the reply there.
func (e *Engine) TakeForReply(id, agent string) (chat.Record, error) {
	kv, err := e.chatBucket()
	if err != nil {
		return chat.Record{}, err
	}
	ctx, cancel := opCtx()
	defer cancel()
	if id == "" {
		en, err := kv.Get(ctx, "s."+agentKey(agent)+".0")
		if err != nil {
			return chat.Record{}, chat.ErrUnknownToken
		}
		id = string(en.Value())
	}
	for range takeTries {
		rec, rev, err := loadChat(ctx, kv, id)
		if err != nil {
			return chat.Record{}, err
		}
		if rec.Owner != "" && rec.Owner != e.node && e.nodeLive(rec.Owner) {
			// Its heartbeat is recent, but it may have died since: a live
			// holder answers for itself (it got the MESSAGE too).
			if held, err := e.ask(ctx, rec.Owner, opProbe, id); err != nil || held {
				return chat.Record{ID: id, Owner: rec.Owner}, chat.ErrHeldElsewhere
			}
		}
		if got, err := e.takeOver(ctx, kv, rec, rev); err == nil {
			return got, nil
		}
	}
	return chat.Record{ID: id}, chat.ErrHeldElsewhere
}

func (e *Engine) chatSubject(node string) string { return e.cfg.Name + ".chat." + node }

// Requests between nodes about a chat one of them holds.
const (
	opRelease = "release" // let go of it (save it without owner)
	opProbe   = "probe"   // say whether it is held here
	opMessage = "message" // a reply from the PBX that reached another node
)

type chatRequest struct {
	Op      string               `json:"op"`
	ID      string               `json:"id,omitempty"`
	From    string               `json:"from,omitempty"` // the asking node
	Message *sip.IncomingMessage `json:"message,omitempty"`
}

type chatAnswer struct {
	Held  bool   `json:"held"` // held here (probe), or was held and is now saved without owner (release)
	Code  int    `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
}

// Forward implements chat.Shared: the holder answers the MESSAGE.
func (e *Engine) Forward(node string, in sip.IncomingMessage) (int, error) {
	nc := e.conn()
	if nc == nil {
		return 0, errOutOfReach
	}
	ctx, cancel := opCtx()
	defer cancel()
	data, _ := json.Marshal(chatRequest{Op: opMessage, Message: &in})
	msg, err := nc.RequestWithContext(ctx, e.chatSubject(node), data)
	if err != nil {
		return 0, fmt.Errorf("forward MESSAGE to %s: %w", node, err)
	}
	var a chatAnswer
	if err := json.Unmarshal(msg.Data, &a); err != nil || a.Code < 200 || a.Code > 699 {
		return 0, fmt.Errorf("forward MESSAGE to %s: no status (%s)", node, a.Error)
	}
	return a.Code, nil
}

// ask sends a request to the node that holds chat id and reports whether
// it held it. A node that is gone (no responder on its subject: NATS drops
// a dead client's subscriptions at once) did not.
func (e *Engine) ask(ctx context.Context, node, op, id string) (held bool, err error) {
	nc := e.conn()
	if nc == nil {
		return false, errOutOfReach
	}
	data, _ := json.Marshal(chatRequest{Op: op, ID: id, From: e.node})
	msg, err := nc.RequestWithContext(ctx, e.chatSubject(node), data)
	if errors.Is(err, nats.ErrNoResponders) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("ask %s about chat %s: %w", node, id, err)
	}
	var a chatAnswer
	if err := json.Unmarshal(msg.Data, &a); err != nil || a.Error != "" {
		return false, fmt.Errorf("ask %s about chat %s: %s", node, id, a.Error)
	}
	return a.Held, nil
}

// serveChatRequests answers other nodes' requests about chats held here
// until ctx ends.
func (e *Engine) serveChatRequests(ctx context.Context, nc *nats.Conn) error {
	sub, err := nc.Subscribe(e.chatSubject(e.node), func(m *nats.Msg) {
		var req chatRequest
		var a chatAnswer
		switch {
		case json.Unmarshal(m.Data, &req) != nil:
			a.Error = "unreadable request"
		case e.chats == nil:
		case req.Op == opProbe:
			a.Held = e.chats.Holds(req.ID)
		case req.Op == opMessage && req.Message != nil:
			a.Code = e.chats.MessageForwarded(*req.Message)
		case req.Op == opRelease:
			held, err := e.chats.Release(req.ID, req.From)
			a.Held = held
			if err != nil {
				a.Error = "not saved: " + err.Error()
			}
		}
		data, _ := json.Marshal(a)
		_ = m.Respond(data)
	})
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", e.chatSubject(e.node), err)
	}
	<-ctx.Done()
	_ = sub.Unsubscribe()
	return nil
}

// sweepChats takes over the chats whose holder is gone (so their grace
// period ends and the agent is told) and drops slots of chats that no
// longer exist, every lease period.
func (e *Engine) sweepChats(ctx context.Context, b buckets) error {
	t := time.NewTicker(e.ttl)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if e.chats == nil {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, e.ttl)
		keys, err := b.chats.ListKeys(lctx)
		if err != nil {
			cancel()
			continue
		}
		for key := range keys.Keys() {
			switch {
			case strings.HasPrefix(key, "c."):
				rec, rev, err := loadChat(lctx, b.chats, strings.TrimPrefix(key, "c."))
				switch {
				case err != nil:
					continue
				case rec.Owner == e.node:
					// Ours, e.g. from before this node restarted: go on here.
					if !e.chats.Holds(rec.ID) {
						_ = e.chats.Adopt(rec)
					}
					continue
				case rec.Owner != "" && e.nodeLive(rec.Owner):
					continue
				}
				if rec.Owner == "" && time.Now().Before(rec.Deadline) {
					continue // released; its visitor is expected elsewhere
				}
				if got, err := e.takeOver(lctx, b.chats, rec, rev); err == nil {
					if err := e.chats.Adopt(got); err != nil {
						e.log.Warn("cluster chat not taken over", "chat", rec.ID, "err", err)
					}
				}
			case strings.HasPrefix(key, "s."):
				e.dropStaleSlot(lctx, b.chats, key)
			}
		}
		cancel()
	}
}
