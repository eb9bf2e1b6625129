package admin

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/frontdesk-gw/frontdesk/sip"
)

const (
	testWidget = "3f2504e04f8941d39a0c0305e82c3301"
	testToken  = "0123456789abcdef-token"
)

// testConfig has one widget with an agent of each mode.
func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse("t.yaml", []byte(`sip:
  registrar: pbx.test
  username: gw
  password: x
widgets:
  - id: `+testWidget+`
    type: cards
    name: Team <&>
    agents:
      - {id: alice, sip: alice, name: "Alice <script>"}
      - {id: hotline, sip: hotline, mode: boolean, boolean: "sip:day@pbx.test"}
      - {id: queue, sip: queue, mode: always}
      - {id: holiday, sip: holiday, mode: inactive}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fakeTap records the tap the hub sets.
type fakeTap struct {
	mu  sync.Mutex
	tap func(sip.TraceRecord)
	set int // times a non-nil tap was set
}

func (f *fakeTap) SetTraceTap(fn func(sip.TraceRecord)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tap = fn
	if fn != nil {
		f.set++
	}
}

func (f *fakeTap) current() func(sip.TraceRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tap
}

// fixture is an admin Server over fakes, served by httptest.
type fixture struct {
	t       *testing.T
	srv     *Server
	http    *httptest.Server
	store   *presence.Store
	tracker *Tracker
	tap     *fakeTap
	cfg     *config.Config
}

func newFixture(t *testing.T, admin config.Admin, listen string) *fixture {
	t.Helper()
	f := &fixture{t: t, store: presence.NewStore(), tracker: NewTracker(), tap: &fakeTap{}, cfg: testConfig(t)}
	srv, err := New(Options{
		Sources: Sources{
			Config:       func() *config.Config { return f.cfg },
			Store:        f.store,
			Tracker:      f.tracker,
			SIP:          func() sip.Status { return sip.Status{Registration: sip.RegRegistered, Subscriptions: 3, Active: 3} },
			Health:       func() any { return map[string]any{"status": "ok", "warnings": []string{"a <b>warning</b>"}} },
			Sessions:     func() int { return 2 },
			CallsByAgent: func() map[string]int { return map[string]int{"sip:alice@pbx.test": 1} },
			ChatsByAgent: func() map[string]int { return map[string]int{"sip:queue@pbx.test": 1} },
		},
		Trace:      f.tap,
		Admin:      admin,
		ListenAddr: listen,
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	mux := http.NewServeMux()
	srv.Register(mux)
	f.http = httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		f.http.Close()
	})
	return f
}

// do sends a request and returns the response with its body read.
func (f *fixture) do(req *http.Request) (*http.Response, string) {
	f.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func (f *fixture) get(path string, hdr ...string) (*http.Response, string) {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.http.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return f.do(req)
}

func (f *fixture) login(token string, hdr ...string) (*http.Response, string) {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.http.URL+"/admin/login", strings.NewReader("token="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return f.do(req)
}

// sseEvent is one server-sent event.
type sseEvent struct{ name, data string }

// openTrace opens the trace stream and returns its events as they come.
func (f *fixture) openTrace(query string, hdr ...string) (<-chan sseEvent, *http.Response) {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", f.http.URL+"/admin/api/trace"+query, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { res.Body.Close() })
	events := make(chan sseEvent, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return events, res
}

func nextEvent(t *testing.T, events <-chan sseEvent, name string) sseEvent {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended before a %q event", name)
			}
			if ev.name == name {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %q event within 3s", name)
		}
	}
}

// waitUntil polls cond (bounded).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 3s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
