package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// Subscriber is the SIP side: the subscriptions this node makes itself.
// *sip.UA satisfies it.
type Subscriber interface {
	SetSubscriptions(want []sip.Target)
}

// Options configure an Engine.
type Options struct {
	Config config.Cluster
	// ConfigHash is config.Config.SharedHash of the config in force.
	ConfigHash string
	Logger     *slog.Logger
	// UA makes this node's subscriptions: those it holds the lease of, or
	// all while the engine is out of reach.
	UA Subscriber
	// Store and Hub are this node's presence state; availability the
	// holders publish is applied to them.
	Store *presence.Store
	Hub   *presence.Hub
}

// Engine is this node's part in the cluster. New, then Run until the
// context ends.
type Engine struct {
	log  *slog.Logger
	cfg  config.Cluster
	node string
	ttl  time.Duration
	ua   Subscriber
	st   *presence.Store
	hub  *presence.Hub

	hash atomic.Pointer[string]

	// connected is true while a session with JetStream runs.
	connected atomic.Bool
	// lostAt is when the engine was last out of reach (zero: never, or
	// reached since).
	mu          sync.Mutex
	lostAt      time.Time
	lastErr     string
	disconnects int64
	draining    bool
	cur         *buckets  // the running session's, nil between sessions
	sessionAt   time.Time // when the running session reached the engine

	nodes    nodeView
	leases   leaseTable
	avail    availQueue
	chats    ChatHolder // nil until SetChats
	chatRevs chatRevs
	calls    callSlots
	nc       atomic.Pointer[nats.Conn]
}

func (e *Engine) conn() *nats.Conn { return e.nc.Load() }

// Status is what /healthz and /metrics show of the cluster.
type Status struct {
	Node      string    `json:"node"`
	Connected bool      `json:"connected"`
	LostAt    time.Time `json:"lost_at,omitzero"`
	Error     string    `json:"error,omitempty"`
	// Standalone is true while the engine has been out of reach for longer
	// than the lease: this node then subscribes to every agent itself.
	Standalone bool `json:"standalone"`
	// Nodes is the number of live nodes seen (this one included).
	Nodes int `json:"nodes"`
	// Leases is the number of subscription leases this node holds, of
	// Targets wanted.
	Leases  int `json:"leases"`
	Targets int `json:"targets"`
	// ConfigMismatch names the live nodes whose config differs from this
	// node's.
	ConfigMismatch []string `json:"config_mismatch,omitempty"`
	Disconnects    int64    `json:"disconnects"`
}

// New builds an Engine; nothing connects until Run.
func New(o Options) (*Engine, error) {
	if o.UA == nil || o.Store == nil || o.Hub == nil {
		return nil, errors.New("cluster: UA, Store and Hub are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{
		log: o.Logger, cfg: o.Config, node: o.Config.Node, ttl: o.Config.LeaseTTL,
		ua: o.UA, st: o.Store, hub: o.Hub,
	}
	if e.ttl <= 0 {
		e.ttl = config.DefaultLeaseTTL
	}
	if e.cfg.Name == "" {
		e.cfg.Name = config.DefaultClusterName
	}
	e.hash.Store(&o.ConfigHash)
	e.leases.init()
	e.avail.init()
	e.mu.Lock()
	e.lostAt = time.Now() // not reached yet
	e.mu.Unlock()
	return e, nil
}

// Node is this node's name.
func (e *Engine) Node() string { return e.node }

// SetConfigHash publishes a reloaded config's SharedHash.
func (e *Engine) SetConfigHash(h string) { e.hash.Store(&h) }

// Status reports the engine's state now.
func (e *Engine) Status() Status {
	e.mu.Lock()
	st := Status{
		Node: e.node, Connected: e.connected.Load(), LostAt: e.lostAt, Error: e.lastErr,
		Disconnects: e.disconnects,
	}
	e.mu.Unlock()
	if st.Connected {
		st.LostAt = time.Time{}
	}
	st.Standalone = e.standalone(time.Now())
	st.Nodes, st.ConfigMismatch = e.nodes.summary(time.Now(), e.ttl, *e.hash.Load(), e.node)
	st.Leases, st.Targets = e.leases.counts()
	return st
}

// standalone reports whether the engine has been out of reach for longer
// than the lease: every lease another node held has run out by then.
func (e *Engine) standalone(now time.Time) bool {
	if e.connected.Load() {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.draining && !e.lostAt.IsZero() && now.Sub(e.lostAt) >= e.ttl
}

func (e *Engine) setErr(err error) {
	e.mu.Lock()
	e.lastErr = err.Error()
	e.mu.Unlock()
}

// connectOptions builds the NATS client options from the config.
func (e *Engine) connectOptions(lost chan<- struct{}) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name("frontdesk " + e.node),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.Timeout(2 * time.Second),
		nats.PingInterval(2 * time.Second),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				e.setErr(fmt.Errorf("NATS connection lost: %w", err))
			}
			select {
			case lost <- struct{}{}:
			default:
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			select {
			case lost <- struct{}{}: // the session loop starts anew
			default:
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			e.log.Debug("cluster NATS error", "err", err)
		}),
	}
	if e.cfg.CredentialsFile != "" {
		opts = append(opts, nats.UserCredentials(e.cfg.CredentialsFile))
	}
	if e.cfg.User != "" {
		opts = append(opts, nats.UserInfo(e.cfg.User, e.cfg.ResolvedPassword))
	}
	if e.cfg.TLSCA != "" || e.cfg.TLSCert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if e.cfg.TLSCA != "" {
			pem, err := os.ReadFile(e.cfg.TLSCA)
			if err != nil {
				return nil, fmt.Errorf("read cluster.tls_ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("cluster.tls_ca %s: no PEM certificates", e.cfg.TLSCA)
			}
		}
		if e.cfg.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(e.cfg.TLSCert, e.cfg.TLSKey)
			if err != nil {
				return nil, fmt.Errorf("load cluster.tls_cert: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, nats.Secure(tc))
	}
	return opts, nil
}

// Run connects and keeps this node's part in the cluster until ctx ends:
// a session runs while JetStream answers; when it does not, the node
// serves alone and the next session converges again. Run returns after
// the last session ended; call Handover before, when draining.
func (e *Engine) Run(ctx context.Context) error {
	lost := make(chan struct{}, 1)
	opts, err := e.connectOptions(lost)
	if err != nil {
		return err
	}
	nc, err := nats.Connect(strings.Join(e.cfg.URLs, ","), opts...)
	if err != nil {
		return fmt.Errorf("connect to NATS %v: %w", e.cfg.URLs, err)
	}
	defer nc.Close()
	e.nc.Store(nc)
	e.applySubscriptions() // nothing held yet: nothing subscribed until a session or standalone
	tick := time.NewTicker(e.ttl / 4)
	defer tick.Stop()
	for ctx.Err() == nil {
		if nc.IsConnected() {
			err := e.session(ctx, nc, lost)
			if ctx.Err() != nil {
				break
			}
			e.lose(err)
		}
		// Out of reach: wait for the client to reconnect, and fall back to
		// subscribing alone once every lease has run out.
		select {
		case <-ctx.Done():
		case <-lost:
		case <-tick.C:
			e.applySubscriptions()
		}
	}
	e.connected.Store(false)
	return nil
}

// lose records that the session ended.
func (e *Engine) lose(err error) {
	if e.connected.Swap(false) {
		e.mu.Lock()
		e.lostAt = time.Now()
		e.disconnects++
		e.mu.Unlock()
		e.log.Warn("cluster engine out of reach; serving alone", "err", err, "standalone_after", e.ttl)
	}
	if err != nil {
		e.setErr(err)
	}
	e.applySubscriptions()
}

// buckets are the session's key-value stores.
type buckets struct {
	leases, avail, nodes, chats, limits, calls jetstream.KeyValue
}

func (e *Engine) bucketName(what string) string { return e.cfg.Name + "-" + what }

func (e *Engine) openBuckets(ctx context.Context, js jetstream.JetStream) (buckets, error) {
	var b buckets
	for _, kv := range []struct {
		to  *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&b.leases, jetstream.KeyValueConfig{Bucket: e.bucketName("leases"), TTL: e.ttl, History: 1,
			Description: "which node holds each agent's SIP subscription"}},
		{&b.avail, jetstream.KeyValueConfig{Bucket: e.bucketName("availability"), History: 1,
			Description: "agents' presence and dialog state, as the subscription holder heard it"}},
		{&b.nodes, jetstream.KeyValueConfig{Bucket: e.bucketName("nodes"), TTL: e.ttl, History: 1,
			Description: "live nodes and their config hashes"}},
		{&b.chats, jetstream.KeyValueConfig{Bucket: e.bucketName("chats"), History: 1,
			Description: "chats: state, holder, agents' chat slots"}},
		{&b.limits, jetstream.KeyValueConfig{Bucket: e.bucketName("limits"), History: 1, TTL: limitsTTL,
			Description: "start rates per client address and agent"}},
		{&b.calls, jetstream.KeyValueConfig{Bucket: e.bucketName("calls"), History: 1, TTL: callSlotTTL * e.ttl,
			Description: "running calls: agents' call slots, kept alive by their nodes"}},
	} {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		store, err := js.CreateOrUpdateKeyValue(cctx, kv.cfg)
		cancel()
		if err != nil {
			return b, fmt.Errorf("open bucket %s: %w", kv.cfg.Bucket, err)
		}
		*kv.to = store
	}
	return b, nil
}

// session runs while the connection lasts: heartbeat, the views of nodes
// and availability, the leases. It returns when one of them fails or the
// connection is lost.
func (e *Engine) session(ctx context.Context, nc *nats.Conn, lost <-chan struct{}) error {
	select {
	case <-lost: // a reconnect that led here, not a new loss
	default:
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	b, err := e.openBuckets(ctx, js)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	loops := newLoopGroup()
	run := func(name string, f func(context.Context, buckets) error) {
		loops.start(ctx, cancel, name, func(ctx context.Context) error { return f(ctx, b) })
	}
	// The views first: the lease loop decides by what they show.
	nodesReady, availReady := make(chan struct{}), make(chan struct{})
	run("watch nodes", func(ctx context.Context, b buckets) error { return e.watchNodes(ctx, b.nodes, nodesReady) })
	run("watch availability", func(ctx context.Context, b buckets) error { return e.watchAvail(ctx, b.avail, availReady) })
	for _, ready := range []chan struct{}{nodesReady, availReady} {
		select {
		case <-ready:
		case <-ctx.Done():
		}
	}
	e.mu.Lock()
	e.cur = &b
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.cur = nil
		e.mu.Unlock()
	}()
	run("heartbeat", e.heartbeat)
	if ctx.Err() == nil {
		e.connected.Store(true)
		e.mu.Lock()
		e.lostAt, e.lastErr, e.sessionAt = time.Time{}, "", time.Now()
		e.mu.Unlock()
		e.log.Info("cluster engine connected", "node", e.node, "servers", nc.ConnectedUrlRedacted())
	}
	run("leases", e.runLeases)
	run("chat requests", func(ctx context.Context, _ buckets) error { return e.serveChatRequests(ctx, nc) })
	run("chat sweep", e.sweepChats)
	run("call slots", e.keepCalls)
	run("publish availability", e.publishAvail)
	var result error
	select {
	case <-ctx.Done():
	case <-lost:
		result = errors.New("NATS connection lost")
	case result = <-loops.failed():
	}
	cancel()
	loops.wait()
	return result
}
