// Package testbed runs a real SIP PBX on loopback for integration tests and the
// demo: Kamailio as registrar and presence server (presence and dialog events)
// plus baresip user agents acting as agents that register and answer calls.
//
// Everything listens on 127.0.0.1 only, or on Options.Host: an address of
// a network namespace the test made (see Network), when the test runs in
// that namespace. Ports are chosen at run time unless the caller fixes
// them. Every process is started by this package and ended by its PID in
// Close.
//
// Options.Faults misconfigure the PBX on purpose (no dialog event package,
// SUBSCRIBEs refused) for tests of what the gateway and frontdesk doctor
// say about such a PBX.
//
// With Options.TLS Kamailio also speaks SIP over TLS (its tls module) with
// a certificate the test made, optionally requiring client certificates.
//
// For tests of real networks, Network builds network namespaces joined by
// veth links (ip netns, iptables inside them), and StartTURN runs coturn
// with use-auth-secret (the TURN REST credentials the gateway mints).
//
// Presence of agents is published from Go (PIDF with RPID activities), not by
// baresip: baresip 1.0.0 can only publish open/closed with empty activities and
// its first PUBLISH carries an invalid <basic>unknown</basic>, so its presence
// module is not loaded at all.
package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Domain is the SIP domain the test bed serves.
const Domain = "frontdesk.test"

// Presence states understood by SetPresence and PublishPresence.
const (
	StatusOnline     = "online"       // basic open, no activity
	StatusBusy       = "busy"         // basic open, rpid:busy
	StatusOnThePhone = "on-the-phone" // basic open, rpid:on-the-phone
	StatusAway       = "away"         // basic open, rpid:away
	StatusClosed     = "closed"       // basic closed
	StatusOffline    = "offline"      // publication removed (nothing published)
)

// Options configure Start.
type Options struct {
	Dir  string // working directory (e.g. t.TempDir()); config, db and logs go here
	Port int    // Kamailio UDP+TCP port on Host; 0 picks a free one
	// Host is the address Kamailio and the agents listen on (default
	// 127.0.0.1). Another address only in a network namespace of the test.
	Host   string
	Users  []User      // SIP accounts to create (the gateway's own among them)
	Agents []AgentSpec // baresip agents to start (each also gets an account)
	Log    *slog.Logger

	// StartTimeout bounds each readiness wait in Start (Kamailio answering
	// OPTIONS, each agent registering). 0 means 10 seconds.
	StartTimeout time.Duration

	// ResourceLists, when set, load Kamailio's rls module with these lists.
	ResourceLists []ResourceList
	// Faults misconfigure the PBX on purpose.
	Faults Faults

	// TLS, when set, makes Kamailio also listen for SIP over TLS (see
	// TLSAddr).
	TLS *TLS
}

// Faults make the test bed's PBX misconfigured on purpose, for tests of
// what the gateway and frontdesk doctor say about such a PBX.
type Faults struct {
	// NoDialogEvents leaves out the dialog event package (Kamailio's
	// presence_dialoginfo and pua_dialoginfo): a SUBSCRIBE with Event:
	// dialog is answered 489 Bad Event.
	NoDialogEvents bool
	// RefuseSubscribe answers every SUBSCRIBE 403 (after authentication),
	// as a PBX whose policy does not let the user subscribe.
	RefuseSubscribe bool
}

// ResourceList is a resource list (RFC 4662) on the test bed's Kamailio
// (its rls module, an rls-services document in the xcap table): Owner, a
// user of the test bed, subscribes to sip:Name@frontdesk.test with Event
// presence or dialog and Supported: eventlist, and one subscription gives
// the state of every member. Kamailio looks the list up among the
// subscriber's own documents: only Owner can use it.
type ResourceList struct {
	Name    string
	Owner   string
	Members []string // users of the test bed
}

// User is a SIP account on the test bed: sip:Name@frontdesk.test.
type User struct{ Name, Password string }

// AgentSpec describes one baresip agent.
type AgentSpec struct {
	Name, Password string
	// Presence is the initial state: "online" (default when empty), "busy",
	// "on-the-phone", "away", "closed" or "offline" (nothing published).
	Presence string
	// AnswerCalls makes baresip answer incoming calls at once; otherwise calls
	// stay ringing (dialog state early) until Accept or until the caller gives up.
	AnswerCalls bool
	// SIPPort and CtrlPort fix baresip's SIP port (it also takes SIPPort+1 for
	// TLS) and its ctrl_tcp port; 0 picks free ones.
	SIPPort, CtrlPort int
	// ToneFile, when set, is a WAV file (16-bit PCM) the agent plays as its
	// microphone in calls instead of the 440 Hz sine (baresip's aufile; it
	// plays the file once per call and does not loop: make it long enough).
	ToneFile string
	// Record makes the agent write the decoded audio it receives in each call
	// to a WAV file (baresip's sndfile); Agent.Recording returns the newest.
	Record bool
	// Video lets the agent's phone offer and accept video: VP8 with a
	// generated picture as camera and a display that discards frames
	// (baresip's vp8 and fakevideo). Without it agents are audio-only.
	Video bool
	// SRTP makes the agent's phone insist on SDES-keyed SRTP (RTP/SAVP with
	// a=crypto; baresip's srtp module, mediaenc srtp-mand).
	SRTP bool
}

// Testbed is a running Kamailio plus agents. Close it.
type Testbed struct {
	dir    string
	host   string
	port   int
	faults Faults
	rls    bool         // Kamailio runs with the rls module
	tls    *tlsTemplate // Kamailio also listens for TLS; nil without
	log    *slog.Logger
	kam    *proc
	agents []*Agent
	byName map[string]*Agent
	pub    *publisher
	sip    *sipClient // OPTIONS pings and PUBLISH

	closeOnce sync.Once
	closeErr  error
}

var userNameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Start creates the accounts, starts Kamailio and the agents, and returns once
// Kamailio answers OPTIONS, every agent is registered (an OPTIONS to
// sip:agent@frontdesk.test through Kamailio reaches it) and every initial
// presence publication has been accepted. On error everything started so far
// is stopped again.
func Start(ctx context.Context, opts Options) (tb *Testbed, err error) {
	if opts.Dir == "" {
		return nil, errors.New("testbed: Options.Dir is required")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if err := CheckBinaries(len(opts.Agents) > 0); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("testbed: dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("testbed: dir: %w", err)
	}

	users, err := collectUsers(opts)
	if err != nil {
		return nil, err
	}

	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := opts.Port
	if port == 0 {
		if port, err = freePort(host, false); err != nil {
			return nil, err
		}
	}

	tb = &Testbed{dir: dir, host: host, port: port, faults: opts.Faults, log: opts.Log, byName: map[string]*Agent{}, rls: len(opts.ResourceLists) > 0}
	defer func() {
		if err != nil {
			_ = tb.Close()
			tb = nil
		}
	}()

	if opts.TLS != nil {
		o := *opts.TLS
		if o.Port == 0 {
			if o.Port, err = freePort(host, false); err != nil {
				return tb, err
			}
		}
		if tb.tls, err = writeTLSFiles(dir, &o); err != nil {
			return tb, err
		}
	}
	began := time.Now()
	if err := createDB(ctx, filepath.Join(dir, "kamailio.db"), users, opts.ResourceLists); err != nil {
		return tb, err
	}
	if tb.sip, err = newSIPClient(host, opts.Log); err != nil {
		return tb, err
	}
	if err := tb.startKamailio(ctx, opts.StartTimeout); err != nil {
		return tb, err
	}
	tb.pub = newPublisher(tb.sip, tb.Addr(), opts.Log)
	tb.log.Info("kamailio ready", "addr", tb.Addr(), "after", time.Since(began).Round(time.Millisecond))

	for _, spec := range opts.Agents {
		if _, err := tb.startAgent(ctx, spec); err != nil {
			return tb, err
		}
	}
	for _, a := range tb.agents {
		if err := tb.waitRegistered(ctx, a, opts.StartTimeout); err != nil {
			return tb, err
		}
		if err := a.SetPresence(ctx, a.initialPresence); err != nil {
			return tb, fmt.Errorf("testbed: initial presence of %s: %w", a.name, err)
		}
	}
	tb.log.Info("testbed ready", "addr", tb.Addr(), "agents", len(tb.agents), "after", time.Since(began).Round(time.Millisecond))
	return tb, nil
}

func collectUsers(opts Options) ([]User, error) {
	seen := map[string]bool{}
	var users []User
	add := func(u User) error {
		if !userNameRE.MatchString(u.Name) {
			return fmt.Errorf("testbed: invalid user name %q (want [A-Za-z0-9._-]{1,64})", u.Name)
		}
		if u.Password == "" {
			return fmt.Errorf("testbed: user %q has no password", u.Name)
		}
		if seen[u.Name] {
			return fmt.Errorf("testbed: user %q defined twice", u.Name)
		}
		seen[u.Name] = true
		users = append(users, u)
		return nil
	}
	for _, u := range opts.Users {
		if err := add(u); err != nil {
			return nil, err
		}
	}
	for _, l := range opts.ResourceLists {
		for _, name := range append([]string{l.Name, l.Owner}, l.Members...) {
			if !userNameRE.MatchString(name) {
				return nil, fmt.Errorf("testbed: resource list %q: invalid user name %q", l.Name, name)
			}
		}
	}
	for _, a := range opts.Agents {
		switch a.Presence {
		case "", StatusOnline, StatusBusy, StatusOnThePhone, StatusAway, StatusClosed, StatusOffline:
		default:
			return nil, fmt.Errorf("testbed: agent %q: unknown presence %q", a.Name, a.Presence)
		}
		if err := add(User{Name: a.Name, Password: a.Password}); err != nil {
			return nil, err
		}
	}
	return users, nil
}

// CheckBinaries reports a clear error when a program the test bed runs is not
// installed. Tests use it to skip.
func CheckBinaries(withAgents bool) error {
	bins := []string{"kamailio", "sqlite3"}
	if withAgents {
		bins = append(bins, "baresip")
	}
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s not found: run testbed/install.sh", b)
		}
	}
	return nil
}

// Addr is Kamailio's "HOST:PORT" (127.0.0.1:PORT by default).
func (t *Testbed) Addr() string { return net.JoinHostPort(t.host, strconv.Itoa(t.port)) }

// Host is the address Kamailio and the agents listen on.
func (t *Testbed) Host() string { return t.host }

// Port is Kamailio's UDP and TCP port.
func (t *Testbed) Port() int { return t.port }

// Domain is the SIP domain, "frontdesk.test".
func (t *Testbed) Domain() string { return Domain }

// Dir is the working directory holding config, database and logs.
func (t *Testbed) Dir() string { return t.dir }

// Agent returns the agent with that name, or nil.
func (t *Testbed) Agent(name string) *Agent { return t.byName[name] }

// Agents returns the agents in start order.
func (t *Testbed) Agents() []*Agent { return append([]*Agent(nil), t.agents...) }

// PublishBoolean publishes a boolean object: PIDF basic open (true) or closed
// (false) for sip:user@frontdesk.test, authenticated as that user. The entity
// tag is kept, so later calls modify the same publication.
func (t *Testbed) PublishBoolean(ctx context.Context, user, password string, value bool) error {
	status := StatusClosed
	if value {
		status = StatusOnline
	}
	return t.PublishPresence(ctx, user, password, status)
}

// PublishPresence publishes presence for sip:user@frontdesk.test as that user
// and returns once Kamailio accepted it (200). status is one of the Status
// constants; StatusOffline removes the publication.
func (t *Testbed) PublishPresence(ctx context.Context, user, password, status string) error {
	if t.pub == nil {
		return errors.New("testbed: not started")
	}
	return t.pub.publish(ctx, user, password, status)
}

// Close stops the agents and Kamailio (SIGTERM, SIGKILL after 5 s) and waits
// for them. It is safe to call more than once.
func (t *Testbed) Close() error {
	t.closeOnce.Do(func() {
		var errs []error
		if t.pub != nil {
			t.pub.close()
		}
		if t.sip != nil {
			t.sip.close()
		}
		for i := len(t.agents) - 1; i >= 0; i-- {
			if err := t.agents[i].proc.stop(5 * time.Second); err != nil {
				errs = append(errs, err)
			}
		}
		if t.kam != nil {
			if err := t.kam.stop(5 * time.Second); err != nil {
				errs = append(errs, err)
			}
		}
		t.closeErr = errors.Join(errs...)
	})
	return t.closeErr
}
