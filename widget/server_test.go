package widget

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testWidget = "fadc5da4cae94bfc9434d9957ea08ccb"
	testOrigin = "https://www.example.com"
)

// testYAML is a config with one cards widget; %s parts are replaced by tests.
const testYAML = `
sip:
  registrar: 127.0.0.1:5060
  domain: example.com
  username: gw
  password: x
http:
  public_url: https://gw.example.com
  allowed_origins: ["https://www.example.com"]
ice:
  stun: ["stun:stun.example.com:3478"]
  turn:
    - urls: ["turn:turn.example.com:3478?transport=udp"]
      secret: s3cret
      ttl: 1h
limits:
  start_timeout: 2s
  max_message_bytes: 1024
  max_sessions_per_ip: 3
widgets:
  - id: fadc5da4-cae9-4bfc-9434-d9957ea08ccb
    type: cards
    name: Visitenkarten
    lang: de
    contact: {company: Example GmbH}
    strings:
      de: {call: "Jetzt anrufen"}
    agents:
      - id: atlantis
        sip: atlantis
        name: Atlantis
        department: Sales
        email: atlantis@example.com
        media: [voice, video, chat, email]
      - id: columbia
        sip: columbia
        name: Columbia
        mode: always
`

// fakeAvail is a settable availability source.
type fakeAvail struct {
	mu      sync.Mutex
	m       map[string]presence.Availability
	version atomic.Uint64
}

func (f *fakeAvail) Availability(a config.Agent) presence.Availability {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.m[a.ID]; ok {
		return v
	}
	return presence.Offline
}

func (f *fakeAvail) Version() uint64 { return f.version.Load() }

func (f *fakeAvail) set(id string, v presence.Availability) {
	f.mu.Lock()
	f.m[id] = v
	f.mu.Unlock()
	f.version.Add(1)
}

type fixture struct {
	t     *testing.T
	srv   *Server
	http  *httptest.Server
	hub   *presence.Hub
	avail *fakeAvail
}

func parseConfig(t *testing.T, yml string) *config.Config {
	t.Helper()
	cfg, _, err := config.Parse("test.yaml", []byte(yml), t.TempDir())
	if err != nil {
		t.Fatalf("parse test config: %v", err)
	}
	return cfg
}

func newFixture(t *testing.T, yml string) *fixture { return newFixtureWith(t, yml, nil) }

// newFixtureWith is newFixture with options changed by opts (nil: none).
func newFixtureWith(t *testing.T, yml string, opts func(*Options)) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	hub := presence.NewHub(5 * time.Millisecond)
	done := make(chan struct{})
	go func() { defer close(done); hub.Run(ctx) }()
	avail := &fakeAvail{m: map[string]presence.Availability{"atlantis": presence.Available}}
	o := Options{Availability: avail, Hub: hub, PingInterval: time.Second}
	if opts != nil {
		opts(&o)
	}
	srv, err := New(parseConfig(t, yml), o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close()
		hs.Close()
		cancel()
		<-done
	})
	return &fixture{t: t, srv: srv, http: hs, hub: hub, avail: avail}
}

// client is a test visitor.
type client struct {
	t    *testing.T
	conn *websocket.Conn
}

func (f *fixture) dial(origin string) *client {
	f.t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	url := "ws" + strings.TrimPrefix(f.http.URL, "http") + "/ws"
	conn, _, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		f.t.Fatalf("dial: %v", err)
	}
	f.t.Cleanup(func() { conn.Close() })
	return &client{t: f.t, conn: conn}
}

// dialHost opens a websocket whose request names host in its Host header.
func (f *fixture) dialHost(host, origin string) *client {
	f.t.Helper()
	h := http.Header{"Host": {host}, "Origin": {origin}}
	url := "ws" + strings.TrimPrefix(f.http.URL, "http") + "/ws"
	conn, _, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		f.t.Fatalf("dial: %v", err)
	}
	f.t.Cleanup(func() { conn.Close() })
	return &client{t: f.t, conn: conn}
}

func (c *client) send(s string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// recv reads one message and decodes it into a generic map.
func (c *client) recv() map[string]any {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		c.t.Fatalf("recv: %v in %s", err, data)
	}
	return m
}

func (c *client) expect(mt string) map[string]any {
	c.t.Helper()
	m := c.recv()
	if m["mt"] != mt {
		c.t.Fatalf("got %v, want mt %s", m, mt)
	}
	return m
}

// expectClosed waits for the server to close the connection.
func (c *client) expectClosed() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				c.t.Fatal("connection still open")
			}
			return
		}
		c.t.Fatalf("unexpected message before close: %s", data)
	}
}

// start performs Start and reads the initial burst, returning the Infos.
func (c *client) start() (session map[string]any, infos []map[string]any) {
	c.t.Helper()
	c.send(`{"mt":"Start","uuid":"` + testWidget + `"}`)
	session = c.expect("Session")
	for {
		m := c.recv()
		switch m["mt"] {
		case "Info":
			infos = append(infos, m)
		case "IceConfig":
			return session, infos
		default:
			c.t.Fatalf("unexpected %v during start", m)
		}
	}
}

func TestStartSendsSessionInfoInOrderAndIceConfig(t *testing.T) {
	f := newFixture(t, testYAML)
	c := f.dial(testOrigin)
	session, infos := c.start()

	if session["name"] != "Visitenkarten" || session["lang"] != "de" || session["type"] != "cards" {
		t.Errorf("session = %v", session)
	}
	strs := session["strings"].(map[string]any)
	if strs["call"] != "Jetzt anrufen" {
		t.Errorf("override not applied: call = %v", strs["call"])
	}
	if strs["chat"] == "" || strs["chat"] == nil {
		t.Errorf("shipped string missing: %v", strs)
	}
	if len(infos) != 2 {
		t.Fatalf("got %d Infos, want 2", len(infos))
	}
	want := []struct{ id, presence string }{{"atlantis", "online"}, {"columbia", "offline"}}
	for i, w := range want {
		if infos[i]["id"] != w.id || infos[i]["presence"] != w.presence || infos[i]["order"] != float64(i) {
			t.Errorf("info %d = %v, want id %s presence %s order %d", i, infos[i], w.id, w.presence, i)
		}
	}
	if infos[0]["department"] != "Sales" || infos[0]["email"] != "atlantis@example.com" {
		t.Errorf("info fields = %v", infos[0])
	}
}

func TestIceConfigMintsTURNCredentials(t *testing.T) {
	f := newFixture(t, testYAML)
	c := f.dial(testOrigin)
	c.send(`{"mt":"Start","uuid":"` + testWidget + `"}`)
	var ice map[string]any
	for ice == nil {
		if m := c.recv(); m["mt"] == "IceConfig" {
			ice = m
		}
	}
	servers := ice["iceServers"].([]any)
	if len(servers) != 2 {
		t.Fatalf("iceServers = %v", servers)
	}
	turn := servers[1].(map[string]any)
	user, cred := turn["username"].(string), turn["credential"].(string)
	mac := hmac.New(sha1.New, []byte("s3cret"))
	mac.Write([]byte(user))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); cred != want {
		t.Errorf("credential %q, want HMAC %q", cred, want)
	}
	var expiry int64
	if _, err := fmtSscanExpiry(user, &expiry); err != nil {
		t.Fatalf("username %q: %v", user, err)
	}
	if d := time.Until(time.Unix(expiry, 0)); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("credential valid for %v, want about 1h", d)
	}
	if ice["stun"] != "stun.example.com:3478" || ice["turn"] != "turn.example.com:3478?transport=udp" {
		t.Errorf("concept fields = %v / %v", ice["stun"], ice["turn"])
	}
}

func TestPresenceChangeSendsOnlyThatAgent(t *testing.T) {
	f := newFixture(t, testYAML)
	c := f.dial(testOrigin)
	c.start()

	f.avail.set("atlantis", presence.Busy)
	f.hub.Changed()
	m := c.expect("Info")
	if m["id"] != "atlantis" || m["presence"] != "busy" {
		t.Fatalf("got %v", m)
	}
	// Nothing else changed: a Ping must be answered next, with no Info between.
	c.send(`{"mt":"Ping"}`)
	c.expect("Pong")
}

func TestConfigReloadSendsSessionInfoAndRemove(t *testing.T) {
	f := newFixture(t, testYAML)
	c := f.dial(testOrigin)
	c.start()

	edited := strings.Replace(testYAML, "name: Visitenkarten", "name: Kontakte", 1)
	edited = strings.Replace(edited, "department: Sales", "department: Vertrieb", 1)
	edited = strings.Replace(edited, `      - id: columbia
        sip: columbia
        name: Columbia
        mode: always
`, `      - id: discovery
        sip: discovery
        name: Discovery
`, 1)
	f.srv.SetConfig(parseConfig(t, edited))
	f.hub.Changed()

	if m := c.expect("Session"); m["name"] != "Kontakte" {
		t.Errorf("session name = %v", m["name"])
	}
	got := map[string]map[string]any{}
	for range 3 {
		m := c.recv()
		got[m["mt"].(string)+":"+m["id"].(string)] = m
	}
	if m := got["Info:atlantis"]; m == nil || m["department"] != "Vertrieb" {
		t.Errorf("changed agent: %v", got)
	}
	if got["Info:discovery"] == nil {
		t.Errorf("added agent missing: %v", got)
	}
	if got["Remove:columbia"] == nil {
		t.Errorf("removed agent missing: %v", got)
	}
}

func TestWidgetRemovedEndsSession(t *testing.T) {
	f := newFixture(t, testYAML)
	c := f.dial(testOrigin)
	c.start()
	other := strings.Replace(testYAML, "fadc5da4-cae9-4bfc-9434-d9957ea08ccb", "0f1e2d3c4b5a49788796a5b4c3d2e1f0", 1)
	f.srv.SetConfig(parseConfig(t, other))
	f.hub.Changed()
	if m := c.expect("Error"); m["code"] != string(CodeWidgetRemoved) {
		t.Errorf("got %v", m)
	}
	c.expectClosed()
}

func TestGetPicture(t *testing.T) {
	dir := t.TempDir()
	png := tinyPNG(t)
	writeFile(t, dir+"/a.png", png)
	yml := strings.Replace(testYAML, "        department: Sales\n", "        department: Sales\n        picture: "+dir+"/a.png\n", 1)
	f := newFixture(t, yml)
	c := f.dial(testOrigin)
	_, infos := c.start()
	if infos[0]["picture"] == "" || infos[1]["picture"] != "" {
		t.Errorf("picture tags = %q, %q", infos[0]["picture"], infos[1]["picture"])
	}
	c.send(`{"mt":"GetPicture","id":"atlantis"}`)
	m := c.expect("Picture")
	if want := "data:image/png;base64," + base64.StdEncoding.EncodeToString(png); m["url"] != want {
		t.Errorf("url = %.60v…", m["url"])
	}
	c.send(`{"mt":"GetPicture","id":"columbia"}`)
	if m := c.expect("Picture"); m["url"] != "" {
		t.Errorf("agent without picture: %v", m)
	}
	c.send(`{"mt":"GetPicture","id":"nobody"}`)
	if m := c.expect("Error"); m["code"] != string(CodeUnknownAgent) {
		t.Errorf("got %v", m)
	}
	// Not fatal: the session goes on.
	c.send(`{"mt":"Ping"}`)
	c.expect("Pong")
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name   string
		origin string
		send   []string
		code   ErrorCode
		closes bool
	}{
		{name: "not json", origin: testOrigin, send: []string{`{"mt":`}, code: CodeBadJSON, closes: true},
		{name: "trailing data", origin: testOrigin, send: []string{`{"mt":"Ping"} {}`}, code: CodeBadJSON, closes: true},
		{name: "no mt", origin: testOrigin, send: []string{`{"uuid":"x"}`}, code: CodeBadJSON, closes: true},
		{name: "unknown mt", origin: testOrigin, send: []string{`{"mt":"Launch"}`}, code: CodeUnknownMessage},
		{name: "before start", origin: testOrigin, send: []string{`{"mt":"GetPicture","id":"atlantis"}`}, code: CodeNotStarted, closes: true},
		{name: "unknown widget", origin: testOrigin, send: []string{`{"mt":"Start","uuid":"00000000000000000000000000000000"}`}, code: CodeUnknownWidget, closes: true},
		{name: "foreign origin", origin: "https://evil.example.net", send: []string{`{"mt":"Start","uuid":"` + testWidget + `"}`}, code: CodeOriginNotAllowed, closes: true},
		{name: "no origin", origin: "", send: []string{`{"mt":"Start","uuid":"` + testWidget + `"}`}, code: CodeOriginNotAllowed, closes: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testYAML)
			c := f.dial(tt.origin)
			for _, s := range tt.send {
				c.send(s)
			}
			m := c.expect("Error")
			if m["code"] != string(tt.code) {
				t.Fatalf("code = %v, want %s (%v)", m["code"], tt.code, m)
			}
			if tt.closes {
				c.expectClosed()
			} else {
				c.send(`{"mt":"Ping"}`)
				c.expect("Pong")
			}
		})
	}
}

// An oversized message is refused by the websocket layer itself with close
// code 1009, before anything of it is decoded.
func TestOversizedMessageCloses1009(t *testing.T) {
	f := newFixture(t, testYAML) // max_message_bytes: 1024
	c := f.dial(testOrigin)
	c.send(`{"mt":"Ping","pad":"` + strings.Repeat("x", 2000) + `"}`)
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.conn.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("got %v, want close 1009", err)
	}
}

func TestStartTimeout(t *testing.T) {
	f := newFixture(t, testYAML)
	c := f.dial(testOrigin)
	if m := c.expect("Error"); m["code"] != string(CodeTimeout) {
		t.Fatalf("got %v", m)
	}
	c.expectClosed()
}

func TestSessionLimitPerIP(t *testing.T) {
	f := newFixture(t, testYAML) // max_sessions_per_ip: 3
	for range 3 {
		f.dial(testOrigin).start()
	}
	url := "ws" + strings.TrimPrefix(f.http.URL, "http") + "/ws"
	_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {testOrigin}})
	if err == nil {
		t.Fatal("fourth session from one address accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("response = %v", resp)
	}
	if got := f.srv.Sessions(); got != 3 {
		t.Errorf("Sessions() = %d, want 3", got)
	}
}

// TestSessionLimitPerClientBehindProxy: behind a trusted proxy each
// visitor the proxy names has its own limit; from an untrusted peer the
// same header changes nothing.
func TestSessionLimitPerClientBehindProxy(t *testing.T) {
	dialAs := func(f *fixture, client string) (int, error) {
		url := "ws" + strings.TrimPrefix(f.http.URL, "http") + "/ws"
		conn, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {testOrigin}, "X-Forwarded-For": {client}})
		if err != nil {
			if resp == nil {
				return 0, err
			}
			return resp.StatusCode, nil
		}
		t.Cleanup(func() { conn.Close() })
		return http.StatusSwitchingProtocols, nil
	}
	behind := newFixture(t, strings.Replace(testYAML, "  allowed_origins:", "  trusted_proxies: [127.0.0.1]\n  allowed_origins:", 1))
	for i := range 6 {
		code, err := dialAs(behind, fmt.Sprintf("203.0.113.%d", i+1))
		if err != nil || code != http.StatusSwitchingProtocols {
			t.Fatalf("visitor %d behind the proxy: %d %v", i+1, code, err)
		}
	}
	waitFor(t, "6 sessions", func() bool { return behind.srv.Sessions() == 6 })
	// Visitor 1 has one session; two more fit its limit of 3, a third not.
	var codes []int
	for range 3 {
		code, _ := dialAs(behind, "203.0.113.1")
		codes = append(codes, code)
	}
	if codes[0] != http.StatusSwitchingProtocols || codes[1] != http.StatusSwitchingProtocols || codes[2] != http.StatusServiceUnavailable {
		t.Errorf("visitor 1's next sessions: %v, want 101 101 503", codes)
	}

	direct := newFixture(t, testYAML)
	accepted := 0
	for i := range 6 {
		if code, _ := dialAs(direct, fmt.Sprintf("203.0.113.%d", i+1)); code == http.StatusSwitchingProtocols {
			accepted++
		}
	}
	if accepted != 3 {
		t.Errorf("an untrusted peer opened %d sessions with spoofed X-Forwarded-For, want 3", accepted)
	}
}

func TestLanguageFromVisitorPreference(t *testing.T) {
	f := newFixture(t, testYAML)
	c := f.dial(testOrigin)
	c.send(`{"mt":"Start","uuid":"` + testWidget + `","lang":["xx-YY","fr-CH","en"]}`)
	m := c.expect("Session")
	if m["lang"] != "fr" {
		t.Fatalf("lang = %v, want fr", m["lang"])
	}
	if s := m["strings"].(map[string]any); s["call"] == "Jetzt anrufen" {
		t.Errorf("German override leaked into French strings")
	}
}

func TestCloseEndsSessionsWithShuttingDown(t *testing.T) {
	f := newFixture(t, testYAML)
	c := f.dial(testOrigin)
	c.start()
	go f.srv.Close()
	if m := c.expect("Error"); m["code"] != string(CodeShuttingDown) {
		t.Fatalf("got %v", m)
	}
	c.expectClosed()
}

func TestDrainClosesIdleSessionsAndRefusesNewOnes(t *testing.T) {
	f := newFixture(t, testYAML)
	c := f.dial(testOrigin)
	c.start()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		f.srv.Drain(ctx)
	}()
	if m := c.expect("Error"); m["code"] != string(CodeShuttingDown) {
		t.Fatalf("got %v", m)
	}
	c.expectClosed()
	<-done
	if n := f.srv.Sessions(); n != 0 {
		t.Errorf("%d sessions left after Drain", n)
	}
	url := "ws" + strings.TrimPrefix(f.http.URL, "http") + "/ws"
	_, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {testOrigin}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("new session while draining: err %v, response %v; want 503", err, resp)
	}
}

func TestCallWindowPage(t *testing.T) {
	f := newFixture(t, testYAML)
	get := func(path string) (*http.Response, string) {
		resp, err := http.Get(f.http.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp, b.String()
	}
	resp, body := get("/call/" + testWidget + "?agent=atlantis")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src wss://gw.example.com") {
		t.Errorf("CSP = %q", csp)
	}
	if !strings.Contains(body, `data-frontdesk-agent="atlantis"`) || !strings.Contains(body, `src="https://gw.example.com/frontdesk.js"`) {
		t.Errorf("page lacks the agent or the script:\n%s", body)
	}
	if _, body := get("/call/" + testWidget + "?agent=%22%3E%3Cscript%3E"); strings.Contains(body, "data-frontdesk-agent") {
		t.Errorf("an agent that is not in the widget reached the page:\n%s", body)
	}
	if resp, _ := get("/call/00000000000000000000000000000000"); resp.StatusCode != 404 {
		t.Errorf("unknown widget: status %d", resp.StatusCode)
	}
}
