package widget

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/frontdesk-gw/frontdesk/bridge"
	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/clientaddr"
	"github.com/frontdesk-gw/frontdesk/internal/ratelimit"
	"github.com/frontdesk-gw/frontdesk/mailer"
	"github.com/frontdesk-gw/frontdesk/presence"
)

// Availabilities answers what visitors see of an agent now. Version changes
// whenever any answer may have changed.
type Availabilities interface {
	Availability(a config.Agent) presence.Availability
	Version() uint64
}

// Options are a Server's collaborators.
type Options struct {
	Logger       *slog.Logger
	Availability Availabilities
	// Hub signals presence and config changes to every session.
	Hub *presence.Hub
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// After is the timer that goes with Now (tests); default time.After.
	After func(time.Duration) <-chan time.Time
	// PingInterval is how often idle sessions are pinged (default 30s).
	PingInterval time.Duration
	// Chat serves chats; nil disables chat.
	Chat *chat.Manager
	// Calls places calls; nil disables calls.
	Calls Calls
	// ClientAddr finds visitors' addresses behind trusted proxies; nil:
	// one is built from the config's http section.
	ClientAddr *clientaddr.Resolver
	// Cluster holds start rates and calls per agent across the nodes of a
	// cluster; nil: this node counts alone.
	Cluster ClusterLimits
	// Mail sends chat transcripts; default mailer.SMTP, the configured server.
	Mail Mailer
	// CallSetup, if set, hears once per answered call how long setting it
	// up took: own is the gateway's part (the visitor's Channels to the
	// INVITE sent, and the answer to CallInfo connected written), answer
	// the PBX's (INVITE sent to answered, ringing included). Calls to a
	// group are not timed.
	CallSetup func(own, answer time.Duration)
}

// Server serves the Widget-API and the widget's web assets.
type Server struct {
	log   *slog.Logger
	opts  Options
	cat   catalog
	state atomic.Pointer[cfgState]
	// listenURL is where the gateway listens; see SetListenURL.
	listenURL atomic.Pointer[string]

	viewsMu sync.RWMutex
	views   map[string]*view

	upgrader websocket.Upgrader
	conns    slots // websocket sessions, per client address
	calls    slots // calls, per agent
	// limiter bounds how often calls, chats and left messages start.
	limiter *ratelimit.Limiter
	refused refusals
	ratings ratingCounts

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed atomic.Bool
	// lifeMu orders session starts (wg.Add) before Close's wg.Wait.
	lifeMu sync.Mutex
	// drain is closed when the server starts draining: no new sessions,
	// sessions without a call end, sessions with one end with it.
	drain     chan struct{}
	drainOnce sync.Once
	// drainCtx is done when drain is closed, for sessions that wait on it
	// without a goroutine (context.AfterFunc).
	drainCtx  context.Context
	stopDrain context.CancelFunc
	open      atomic.Int64
	// hoursEpoch moves when opening hours open or close (runHours), so
	// views are rebuilt; hoursKick wakes runHours for a new config.
	hoursEpoch atomic.Uint64
	hoursKick  chan struct{}
	// lines are the visitors waiting for busy agents.
	lines waitLines
	// parked are the calls waiting for their visitor's next page
	// (reattach.go).
	parked parkedCalls
	// dial places calls instead of Options.Calls (tests); nil: Calls.
	dial func(context.Context, bridge.DialRequest, bridge.Observer) (callConn, error)
}

// cfgState is a config with the version the server numbered it with.
type cfgState struct {
	cfg     *config.Config
	version uint64
}

// New returns a server for cfg. Close ends it.
func New(cfg *config.Config, opts Options) (*Server, error) {
	if opts.Availability == nil || opts.Hub == nil {
		return nil, errors.New("widget server: Availability and Hub are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 30 * time.Second
	}
	if opts.Mail == nil {
		opts.Mail = mailer.SMTP{Now: opts.Now}
	}
	cat, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	if opts.ClientAddr == nil {
		if opts.ClientAddr, err = NewClientAddr(cfg.HTTP); err != nil {
			return nil, err
		}
	}
	s := &Server{
		log:     opts.Logger,
		opts:    opts,
		cat:     cat,
		views:   map[string]*view{},
		limiter: ratelimit.New(ratelimit.Options{Now: opts.Now}),
	}
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
		WriteBufferPool:  &sync.Pool{},
		HandshakeTimeout: 10 * time.Second,
		// Origins are checked per widget once Start names it; see checkOrigin.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.drain = make(chan struct{})
	s.hoursKick = make(chan struct{}, 1)
	s.drainCtx, s.stopDrain = context.WithCancel(context.Background())
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.state.Store(&cfgState{cfg: cfg, version: 1})
	s.lines.init()
	s.wg.Add(2)
	go s.runHours()
	go s.runLines()
	return s, nil
}

// SetConfig swaps in a new configuration. Open sessions pick it up at the next
// Hub signal: the caller calls Hub.Changed after SetConfig.
func (s *Server) SetConfig(cfg *config.Config) {
	old := s.state.Load()
	s.state.Store(&cfgState{cfg: cfg, version: old.version + 1})
	select {
	case s.hoursKick <- struct{}{}:
	default: // a kick is pending; it reads the newest config
	}
}

// SetListenURL tells the server the URL of the listener it serves on
// (http://127.0.0.1:41234), which stands in for http.public_url while that
// is empty (a listen port of 0): the gateway's own pages then work there.
func (s *Server) SetListenURL(u string) { s.listenURL.Store(&u) }

// publicURL is http.public_url, else the listener's URL, without a
// trailing slash.
func (s *Server) publicURL() string {
	if u := s.state.Load().cfg.HTTP.PublicURL; u != "" {
		return strings.TrimRight(u, "/")
	}
	if u := s.listenURL.Load(); u != nil {
		return strings.TrimRight(*u, "/")
	}
	return ""
}

// Config returns the configuration in force.
func (s *Server) Config() *config.Config { return s.state.Load().cfg }

// Sessions returns the number of open websocket sessions.
func (s *Server) Sessions() int { return int(s.open.Load()) }

// Languages lists the languages the gateway ships UI strings for.
func (s *Server) Languages() []string { return s.cat.languages() }

// view returns the current view of widget id, or nil if no such widget.
func (s *Server) view(id string) (*view, error) {
	st := s.state.Load()
	key := viewKey{cfg: st.version, avail: s.opts.Availability.Version(), hours: s.hoursEpoch.Load(), lines: s.lines.epoch.Load()}
	s.viewsMu.RLock()
	v := s.views[id]
	s.viewsMu.RUnlock()
	if v != nil && v.key == key {
		return v, nil
	}
	s.viewsMu.Lock()
	defer s.viewsMu.Unlock()
	if v := s.views[id]; v != nil && v.key == key {
		return v, nil
	}
	w := st.cfg.Widget(id)
	if w == nil {
		delete(s.views, id)
		return nil, nil
	}
	v, err := s.buildView(w, key)
	if err != nil {
		return nil, fmt.Errorf("build view of widget %s: %w", id, err)
	}
	s.views[id] = v
	// Drop views of widgets that no longer exist.
	for wid, old := range s.views {
		if old.key.cfg != st.version && st.cfg.Widget(wid) == nil {
			delete(s.views, wid)
		}
	}
	return v, nil
}

// Handler returns the HTTP handler: the websocket endpoint and web assets.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	s.registerAssets(mux)
	return mux
}

// serveWS upgrades a request to a widget session.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	ip := s.opts.ClientAddr.ClientIP(r)
	if s.draining() {
		s.refuse(RefusedShuttingDown, ip)
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	cfg := s.state.Load().cfg
	release, ok := s.conns.acquire(ip, cfg.Limits.MaxSessions, cfg.Limits.MaxSessionsPerIP)
	if !ok {
		reason := RefusedMaxSessionsPerIP
		if s.conns.inUse() >= cfg.Limits.MaxSessions {
			reason = RefusedMaxSessions
		}
		s.refuse(reason, ip)
		http.Error(w, "too many sessions", http.StatusServiceUnavailable)
		return
	}
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		release()
		s.refuse(RefusedBadHandshake, ip, "err", err)
		return
	}
	sess := newSession(s, conn, ip, r.Header.Get("Origin"))
	s.lifeMu.Lock()
	if s.closed.Load() {
		s.lifeMu.Unlock()
		release()
		conn.Close()
		return
	}
	s.open.Add(1)
	s.wg.Add(1)
	s.lifeMu.Unlock()
	go func() {
		defer s.wg.Done()
		defer release()
		defer s.open.Add(-1)
		sess.run(s.ctx)
	}()
}

func (s *Server) draining() bool {
	select {
	case <-s.drain:
		return true
	default:
		return s.closed.Load()
	}
}

// Drain stops taking sessions, ends idle sessions (their widgets reconnect,
// to another instance behind a load balancer), and waits until the sessions
// with a running call have ended too, or ctx is done. Close ends what is
// left.
func (s *Server) Drain(ctx context.Context) {
	s.drainOnce.Do(func() {
		close(s.drain)
		s.stopDrain()
	})
	s.hangUpParked() // no page can come back to a draining gateway
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for s.open.Load() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close ends every session (with a going-away close frame) and waits for
// them. It is idempotent.
func (s *Server) Close() {
	s.lifeMu.Lock()
	first := s.closed.CompareAndSwap(false, true)
	s.lifeMu.Unlock()
	if !first {
		return
	}
	s.cancel()
	s.hangUpParked()
	s.wg.Wait()
}

// NewClientAddr builds the client address resolver of an http config.
func NewClientAddr(h config.HTTP) (*clientaddr.Resolver, error) {
	header, err := clientaddr.ParseHeader(h.ForwardedHeader)
	if err != nil {
		return nil, fmt.Errorf("http.forwarded_header: %w", err)
	}
	r, err := clientaddr.New(h.TrustedProxies, header)
	if err != nil {
		return nil, fmt.Errorf("http.trusted_proxies: %w", err)
	}
	return r, nil
}
