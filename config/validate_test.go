package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c, warns := mustParse(t, agentYAML("sip: bob"), "")
	checks := []struct {
		name      string
		got, want any
	}{
		{name: "transport", got: c.SIP.Transport, want: "udp"},
		{name: "domain from registrar", got: c.SIP.Domain, want: "pbx.test"},
		{name: "auth user", got: c.SIP.AuthUser, want: "gw"},
		{name: "sip listen", got: c.SIP.Listen, want: "0.0.0.0:5060"},
		{name: "register expiry", got: c.SIP.RegisterExpiry, want: 600 * time.Second},
		{name: "subscribe expiry", got: c.SIP.SubscribeExpiry, want: 600 * time.Second},
		{name: "keepalive interval", got: c.SIP.KeepaliveInterval, want: 10 * time.Second},
		{name: "subscribe rate", got: c.SIP.SubscribeRate, want: Rate{Count: 50, Per: time.Second}},
		{name: "subscribe backoff max", got: c.SIP.SubscribeBackoffMax, want: time.Hour},
		{name: "refused retry", got: c.SIP.RefusedRetry, want: time.Hour},
		{name: "password", got: c.SIP.ResolvedPassword, want: "x"},
		{name: "http listen", got: c.HTTP.Listen, want: ":8080"},
		{name: "public url", got: c.HTTP.PublicURL, want: "http://127.0.0.1:8080"},
		{name: "max sessions", got: c.Limits.MaxSessions, want: 20000},
		{name: "max sessions per ip", got: c.Limits.MaxSessionsPerIP, want: 50},
		{name: "max message", got: c.Limits.MaxMessageBytes, want: 65536},
		{name: "max picture", got: c.Limits.MaxPictureBytes, want: 262144},
		{name: "start timeout", got: c.Limits.StartTimeout, want: 10 * time.Second},
		{name: "widget name", got: c.Widgets[0].Name, want: "Contact"},
		{name: "widget lang", got: c.Widgets[0].Lang, want: "en"},
		{name: "widget position", got: c.Widgets[0].Style.Position, want: "right"},
		{name: "sidebar z-index", got: c.Widgets[0].Style.ZIndex, want: 2147483000},
		{name: "widget line", got: c.Widgets[0].Line, want: 6},
		{name: "agent uri", got: c.Widgets[0].Agents[0].URI, want: "sip:bob@pbx.test"},
		{name: "agent id", got: c.Widgets[0].Agents[0].ID, want: "bob"},
		{name: "agent name", got: c.Widgets[0].Agents[0].Name, want: "bob"},
		{name: "agent mode", got: c.Widgets[0].Agents[0].Mode, want: ModePresence},
		{name: "agent source", got: c.Widgets[0].Agents[0].Source, want: SourceBoth},
		{name: "agent line", got: c.Widgets[0].Agents[0].Line, want: 9},
		{name: "source", got: c.Source, want: "t.yaml"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if !slices.Equal(c.Widgets[0].Agents[0].Media, []Medium{MediumVoice, MediumChat}) {
		t.Errorf("media = %v, want [voice chat]", c.Widgets[0].Agents[0].Media)
	}
	wantWarn := "t.yaml:4: sip.password: inline password: prefer password_env or password_file"
	if len(warns) != 1 || warns[0].String() != wantWarn {
		t.Errorf("warnings = %v, want [%s]", warns, wantWarn)
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{name: "integer seconds", value: "3600", want: time.Hour},
		{name: "quoted seconds", value: `"900"`, want: 15 * time.Minute},
		{name: "go syntax", value: "1h", want: time.Hour},
		{name: "compound", value: "1m30s", want: 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustParse(t, sipYAML("  register_expiry: "+tt.value), "")
			if c.SIP.RegisterExpiry != tt.want {
				t.Errorf("register_expiry %s = %v, want %v", tt.value, c.SIP.RegisterExpiry, tt.want)
			}
		})
	}
}

func TestPasswordSources(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FRONTDESK_TEST_PW", "from-env")
	t.Setenv("FRONTDESK_TEST_EMPTY", "")
	base := "sip:\n  registrar: pbx.test\n  username: gw\n"
	tests := []struct {
		name     string
		line     string
		want     string
		wantErr  string
		warnings int
	}{
		{name: "env", line: "  password_env: FRONTDESK_TEST_PW", want: "from-env"},
		{name: "file without trailing newline", line: "  password_file: pw", want: "from-file"},
		{name: "inline warns", line: "  password: inline", want: "inline", warnings: 1},
		{name: "empty env", line: "  password_env: FRONTDESK_TEST_EMPTY", wantErr: "t.yaml:4: sip.password_env: environment variable FRONTDESK_TEST_EMPTY is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warns, err := Parse("t.yaml", []byte(base+tt.line+"\n"), dir)
			if tt.wantErr != "" {
				if got := problemStrings(t, err); len(got) != 1 || got[0] != tt.wantErr {
					t.Errorf("problems %q, want [%q]", got, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.SIP.ResolvedPassword != tt.want {
				t.Errorf("ResolvedPassword = %q, want %q", c.SIP.ResolvedPassword, tt.want)
			}
			if len(warns) != tt.warnings {
				t.Errorf("warnings %v, want %d", warns, tt.warnings)
			}
		})
	}
}

func TestTURNSecretEnv(t *testing.T) {
	t.Setenv("FRONTDESK_TEST_TURN", "s3cret")
	c, _ := mustParse(t, sipYAML()+"ice:\n  stun: [\"stun:stun.example.com:3478\"]\n  turn:\n    - urls: [\"turns:turn.example.com:5349?transport=tcp\"]\n      secret_env: FRONTDESK_TEST_TURN\n", "")
	turn := c.ICE.TURN[0]
	if turn.ResolvedSecret != "s3cret" || turn.TTL != time.Hour {
		t.Errorf("turn = %+v, want secret s3cret and ttl 1h", turn)
	}
}

func TestUUIDNormalization(t *testing.T) {
	tests := []struct {
		name, id, want string
	}{
		{name: "32 hex", id: "5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f", want: "5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f"},
		{name: "dashed", id: "5d0c2f3e-8a9b-4c1d-9e7f-6a5b4c3d2e1f", want: "5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f"},
		{name: "upper dashed", id: "5D0C2F3E-8A9B-4C1D-9E7F-6A5B4C3D2E1F", want: "5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f"},
		{name: "upper 32 hex", id: "FADC5DA4CAE94BFC9434D9957EA08CCB", want: "fadc5da4cae94bfc9434d9957ea08ccb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustParse(t, sipYAML()+"widgets:\n  - id: "+tt.id+"\n    type: cards\n", "")
			if got := c.Widgets[0].ID; got != tt.want {
				t.Errorf("id = %q, want %q", got, tt.want)
			}
			if c.Widget(tt.id) != &c.Widgets[0] || c.Widget("5d0c2f3e-8a9b") != nil {
				t.Errorf("Widget(%q) does not find the widget, or a bad id finds one", tt.id)
			}
			if c.Widgets[0].Style.ZIndex != 0 {
				t.Errorf("cards z_index = %d, want 0 (no default)", c.Widgets[0].Style.ZIndex)
			}
		})
	}
	for _, bad := range []string{"", "5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1", "5d0c2f3e-8a9b-4c1d-9e7f_6a5b4c3d2e1f", "zd0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f"} {
		if got, ok := normalizeUUID(bad); ok {
			t.Errorf("normalizeUUID(%q) = %q, want rejection", bad, got)
		}
	}
}

func TestAgentNormalization(t *testing.T) {
	tests := []struct {
		name      string
		lines     []string
		wantURI   string
		wantID    string
		wantMedia []Medium
		wantBool  string
	}{
		{name: "bare user", lines: []string{"sip: alice"}, wantURI: "sip:alice@pbx.test", wantID: "alice", wantMedia: []Medium{MediumVoice, MediumChat}},
		{name: "user at domain", lines: []string{"sip: alice@Other.Test"}, wantURI: "sip:alice@other.test", wantID: "alice", wantMedia: []Medium{MediumVoice, MediumChat}},
		{name: "uri with params", lines: []string{"sip: SIP:Alice@PBX.test:5061;transport=tcp"}, wantURI: "sip:Alice@pbx.test:5061", wantID: "Alice", wantMedia: []Medium{MediumVoice, MediumChat}},
		{name: "sips kept", lines: []string{"sip: sips:alice@pbx.test"}, wantURI: "sips:alice@pbx.test", wantID: "alice", wantMedia: []Medium{MediumVoice, MediumChat}},
		{name: "numeric user", lines: []string{"sip: 201", "id: reception"}, wantURI: "sip:201@pbx.test", wantID: "reception", wantMedia: []Medium{MediumVoice, MediumChat}},
		{name: "email adds email medium", lines: []string{"sip: alice", "email: alice@example.com"}, wantURI: "sip:alice@pbx.test", wantID: "alice", wantMedia: []Medium{MediumVoice, MediumChat, MediumEmail}},
		{name: "video implies voice, canonical order", lines: []string{"sip: alice", "media: [chat, video]"}, wantURI: "sip:alice@pbx.test", wantID: "alice", wantMedia: []Medium{MediumVoice, MediumVideo, MediumChat}},
		{name: "chat only", lines: []string{"sip: alice", "media: [chat]"}, wantURI: "sip:alice@pbx.test", wantID: "alice", wantMedia: []Medium{MediumChat}},
		{name: "boolean", lines: []string{"sip: night", "mode: boolean", "boolean: Daytime"}, wantURI: "sip:night@pbx.test", wantID: "night", wantMedia: []Medium{MediumVoice, MediumChat}, wantBool: "sip:Daytime@pbx.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustParse(t, agentYAML(tt.lines[0], tt.lines[1:]...), "")
			a := c.Widgets[0].Agents[0]
			if a.URI != tt.wantURI || a.ID != tt.wantID || a.BooleanURI != tt.wantBool {
				t.Errorf("URI, ID, BooleanURI = %q, %q, %q; want %q, %q, %q", a.URI, a.ID, a.BooleanURI, tt.wantURI, tt.wantID, tt.wantBool)
			}
			if !slices.Equal(a.Media, tt.wantMedia) {
				t.Errorf("media = %v, want %v", a.Media, tt.wantMedia)
			}
		})
	}
}

func TestOriginsAndPublicURL(t *testing.T) {
	yaml := sipYAML() + "http:\n  listen: \"[::]:8443\"\n  allowed_origins: [\"HTTPS://WWW.Example.com\", \"http://localhost:3000/\"]\n" +
		"widgets:\n  - id: " + testWidgetID + "\n    type: sidebar\n  - id: 0f1e2d3c4b5a49788796a5b4c3d2e1f0\n    type: cards\n    allowed_origins: [\"*\"]\n"
	c, _ := mustParse(t, yaml, "")
	wantHTTP := []string{"https://www.example.com", "http://localhost:3000"}
	if !slices.Equal(c.HTTP.AllowedOrigins, wantHTTP) {
		t.Errorf("http origins = %q, want %q", c.HTTP.AllowedOrigins, wantHTTP)
	}
	if !slices.Equal(c.Widgets[0].AllowedOrigins, wantHTTP) {
		t.Errorf("widget without origins got %q, want the http ones %q", c.Widgets[0].AllowedOrigins, wantHTTP)
	}
	if !slices.Equal(c.Widgets[1].AllowedOrigins, []string{"*"}) {
		t.Errorf("widget origins = %q, want [*]", c.Widgets[1].AllowedOrigins)
	}
	if c.HTTP.PublicURL != "http://127.0.0.1:8443" {
		t.Errorf("public url = %q, want http://127.0.0.1:8443", c.HTTP.PublicURL)
	}
}

func TestTLSFilesResolved(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := mustParse(t, sipYAML()+"http:\n  listen: 127.0.0.1:9443\n  tls_cert: cert.pem\n  tls_key: key.pem\n", dir)
	if c.HTTP.TLSCert != filepath.Join(dir, "cert.pem") || c.HTTP.TLSKey != filepath.Join(dir, "key.pem") {
		t.Errorf("tls files = %q, %q; want them resolved against %s", c.HTTP.TLSCert, c.HTTP.TLSKey, dir)
	}
	if c.HTTP.PublicURL != "https://127.0.0.1:9443" {
		t.Errorf("public url = %q, want https://127.0.0.1:9443", c.HTTP.PublicURL)
	}
}

func TestEnums(t *testing.T) {
	tests := []struct {
		name  string
		parse func(string) (string, error)
		in    string
		ok    bool
	}{
		{name: "widget type", parse: wrap(ParseWidgetType), in: "cards", ok: true},
		{name: "widget type unknown", parse: wrap(ParseWidgetType), in: "popup"},
		{name: "medium", parse: wrap(ParseMedium), in: "video", ok: true},
		{name: "medium unknown", parse: wrap(ParseMedium), in: "fax"},
		{name: "mode", parse: wrap(ParseMode), in: "inactive", ok: true},
		{name: "mode empty", parse: wrap(ParseMode), in: ""},
		{name: "source", parse: wrap(ParseSource), in: "dialog", ok: true},
		{name: "source empty", parse: wrap(ParseSource), in: ""},
		{name: "form field", parse: wrap(ParseFormField), in: "required", ok: true},
		{name: "form field unknown", parse: wrap(ParseFormField), in: "yes"},
		{name: "page url", parse: wrap(ParsePageURL), in: "full", ok: true},
		{name: "page url unknown", parse: wrap(ParsePageURL), in: "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.parse(tt.in)
			if tt.ok && (err != nil || got != tt.in) {
				t.Errorf("parse(%q) = %q, %v; want %q", tt.in, got, err, tt.in)
			}
			if !tt.ok && (err == nil || got != "") {
				t.Errorf("parse(%q) = %q, %v; want an error and the unknown value", tt.in, got, err)
			}
		})
	}
}

func wrap[T interface {
	~string
	String() string
}](f func(string) (T, error)) func(string) (string, error) {
	return func(s string) (string, error) {
		v, err := f(s)
		return v.String(), err
	}
}

func TestRates(t *testing.T) {
	tests := []struct {
		value string
		want  Rate
		err   bool
	}{
		{value: "3/min", want: Rate{Count: 3, Per: time.Minute}},
		{value: "3/m", want: Rate{Count: 3, Per: time.Minute}},
		{value: "20/10m", want: Rate{Count: 20, Per: 10 * time.Minute}},
		{value: " 1 / h ", want: Rate{Count: 1, Per: time.Hour}},
		{value: "5/day", want: Rate{Count: 5, Per: 24 * time.Hour}},
		{value: "OFF", want: Rate{Off: true}},
		{value: "0/min", err: true},
		{value: "-1/min", err: true},
		{value: "3", err: true},
		{value: "3/fortnight", err: true},
		{value: "3/1ms", err: true},
		{value: "3/1000h", err: true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.value)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseRate(%q) = %+v, %v; want %+v, error %v", tt.value, got, err, tt.want, tt.err)
		}
		if err == nil {
			if again, err := ParseRate(got.String()); err != nil || again != got {
				t.Errorf("ParseRate(%q.String() = %q) = %+v, %v", tt.value, got.String(), again, err)
			}
		}
	}
}

func TestRateConfig(t *testing.T) {
	doc := strings.Replace(agentYAML("sip: bob"), "widgets:", "limits:\n  calls: {per_session: 1/min, per_ip: off}\nwidgets:", 1)
	c, _ := mustParse(t, doc, "")
	if got := c.Limits.Calls; got.PerSession != (Rate{Count: 1, Per: time.Minute}) || !got.PerIP.Off || got.PerAgent != DefaultCallRates.PerAgent {
		t.Errorf("limits.calls = %+v", got)
	}
	if c.Limits.MessagesLeft != DefaultMessageLeftRates {
		t.Errorf("limits.messages_left = %+v, want the defaults", c.Limits.MessagesLeft)
	}
	bad := strings.Replace(agentYAML("sip: bob"), "widgets:", "limits:\n  chats: {per_ip: lots}\nwidgets:", 1)
	_, _, err := Parse("t.yaml", []byte(bad), "")
	errs := strings.Join(problemStrings(t, err), "\n")
	if !strings.Contains(errs, "t.yaml:6: limits.chats.per_ip:") || !strings.Contains(errs, "count/period") {
		t.Errorf("errors = %s", errs)
	}
}

// TestResourceList: one value names the list of both event packages, a
// mapping one per package; both are normalized like agents' addresses.
func TestResourceList(t *testing.T) {
	c, _ := mustParse(t, sipYAML("  resource_list: agents"), "")
	if got, want := c.SIP.ResourceList, (ResourceList{Presence: "sip:agents@pbx.test", Dialog: "sip:agents@pbx.test"}); got != want {
		t.Errorf("one value: %+v, want %+v", got, want)
	}
	c, _ = mustParse(t, sipYAML("  resource_list:", "    presence: sip:team-p@Lists.PBX.test;transport=tcp"), "")
	if got, want := c.SIP.ResourceList, (ResourceList{Presence: "sip:team-p@lists.pbx.test"}); got != want {
		t.Errorf("mapping: %+v, want %+v", got, want)
	}
	c, _ = mustParse(t, sipYAML(), "")
	if c.SIP.ResourceList != (ResourceList{}) {
		t.Errorf("default %+v, want none", c.SIP.ResourceList)
	}
}
