package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseProblems(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "unknown top-level key with suggestion",
			yaml: sipYAML() + "sipp:\n  x: 1\n",
			want: []string{`t.yaml:5: unknown key "sipp" (did you mean sip?)`},
		},
		{
			name: "unknown agent key",
			yaml: agentYAML("sip: bob", "nmae: Bob"),
			want: []string{`t.yaml:10: widgets[0].agents[0]: unknown key "nmae" (did you mean name?)`},
		},
		{
			name: "unknown agent source",
			yaml: agentYAML("sip: bob", "source: phone"),
			want: []string{`t.yaml:10: widgets[0].agents[0].source: "phone" is not one of both, presence, dialog`},
		},
		{
			name: "agent source without mode presence",
			yaml: agentYAML("sip: bob", "mode: always", "source: dialog"),
			want: []string{`t.yaml:11: widgets[0].agents[0].source is only used with mode presence, not always`},
		},
		{
			name: "not a whole number",
			yaml: sipYAML() + "limits:\n  max_sessions: lots\n",
			want: []string{`t.yaml:6: limits.max_sessions: "lots" is not a whole number`},
		},
		{
			name: "not a duration",
			yaml: sipYAML() + "limits:\n  start_timeout: soon\n",
			want: []string{`t.yaml:6: limits.start_timeout: "soon" is not a duration; use a number of seconds or Go syntax such as 30s, 10m or 1h`},
		},
		{
			name: "expiry below minimum",
			yaml: sipYAML("  register_expiry: 30s"),
			want: []string{`t.yaml:5: sip.register_expiry: 30s is shorter than the minimum of 1m0s`},
		},
		{
			name: "subscribe expiry below minimum as seconds",
			yaml: sipYAML("  subscribe_expiry: 59"),
			want: []string{`t.yaml:5: sip.subscribe_expiry: 59s is shorter than the minimum of 1m0s`},
		},
		{
			name: "keepalive interval out of range",
			yaml: sipYAML("  keepalive_interval: 500ms"),
			want: []string{`t.yaml:5: sip.keepalive_interval: 500ms is outside 1s to 10m0s`},
		},
		{
			name: "subscribe rate off",
			yaml: sipYAML("  subscribe_rate: off"),
			want: []string{`t.yaml:5: sip.subscribe_rate: cannot be off: the PBX must be protected from bursts; write it as count/period, such as 50/s`},
		},
		{
			name: "subscribe rate too high",
			yaml: sipYAML("  subscribe_rate: 5000/s"),
			want: []string{`t.yaml:5: sip.subscribe_rate: 5000/s is more than 1000 per second`},
		},
		{
			name: "subscribe rate too low",
			yaml: sipYAML("  subscribe_rate: 1/2h"),
			want: []string{`t.yaml:5: sip.subscribe_rate: 1/2h0m0s is less than one a minute`},
		},
		{
			name: "backoff cap out of range",
			yaml: sipYAML("  subscribe_backoff_max: 5s"),
			want: []string{`t.yaml:5: sip.subscribe_backoff_max: 5s is outside 10s to 24h0m0s`},
		},
		{
			name: "refused retry out of range",
			yaml: sipYAML("  refused_retry: 48h"),
			want: []string{`t.yaml:5: sip.refused_retry: 48h0m0s is outside 10s to 24h0m0s`},
		},
		{
			name: "bad resource list",
			yaml: sipYAML("  resource_list:", "    dialog: \"sip:\""),
			want: []string{`t.yaml:6: sip.resource_list.dialog: "sip:" has no user part`},
		},
		{
			name: "duplicate key",
			yaml: sipYAML("  username: other"),
			want: []string{`t.yaml:5: sip: key "username" appears twice (first on line 3)`},
		},
		{
			name: "bad transport",
			yaml: sipYAML("  transport: sctp"),
			want: []string{`t.yaml:5: sip.transport: "sctp" is not one of udp, tcp, tls`},
		},
		{
			name: "registrar missing",
			yaml: "sip:\n  username: gw\n  password: x\n",
			want: []string{`t.yaml:1: sip.registrar is required (the PBX's host, host:port or sip: URI)`},
		},
		{
			name: "registrar bad port",
			yaml: "sip:\n  registrar: pbx.test:99999\n  username: gw\n  password: x\n",
			want: []string{`t.yaml:2: sip.registrar: "pbx.test:99999" has an invalid port "99999"`},
		},
		{
			name: "username missing",
			yaml: "sip:\n  registrar: pbx.test\n  password: x\n",
			want: []string{`t.yaml:1: sip.username is required (the SIP user the gateway registers as)`},
		},
		{
			name: "no password",
			yaml: "sip:\n  registrar: pbx.test\n  username: gw\n",
			want: []string{`t.yaml:1: sip: one of password, password_env or password_file is required`},
		},
		{
			name: "two passwords",
			yaml: sipYAML("  password_env: FRONTDESK_TEST_PW"),
			want: []string{`t.yaml:4: sip.password: set only one of password, password_env and password_file`},
		},
		{
			name: "password env not set",
			yaml: "sip:\n  registrar: pbx.test\n  username: gw\n  password_env: FRONTDESK_TEST_SURELY_UNSET\n",
			want: []string{`t.yaml:4: sip.password_env: environment variable FRONTDESK_TEST_SURELY_UNSET is not set`},
		},
		{
			name: "password file missing",
			yaml: "sip:\n  registrar: pbx.test\n  username: gw\n  password_file: nope.txt\n",
			want: []string{`t.yaml:4: sip.password_file: cannot read "nope.txt": no such file or directory`},
		},
		{
			name: "bad trusted source",
			yaml: sipYAML("  trusted_sources: [10.0.0.0/8, \"not a host\"]"),
			want: []string{`t.yaml:5: sip.trusted_sources[1]: "not a host" is not an IP address, CIDR or host name`},
		},
		{
			name: "tls cert without key",
			yaml: sipYAML() + "http:\n  tls_cert: cert.pem\n",
			want: []string{`t.yaml:6: http.tls_cert: tls_cert and tls_key must be set together`},
		},
		{
			name: "tls files missing",
			yaml: sipYAML() + "http:\n  tls_cert: cert.pem\n  tls_key: key.pem\n",
			want: []string{
				`t.yaml:6: http.tls_cert: cannot use "cert.pem": no such file or directory`,
				`t.yaml:7: http.tls_key: cannot use "key.pem": no such file or directory`,
			},
		},
		{
			name: "origin with a path",
			yaml: sipYAML() + "http:\n  allowed_origins: [https://example.com/page]\n",
			want: []string{`t.yaml:6: http.allowed_origins[0]: "https://example.com/page" is not an origin: remove everything after the host and port`},
		},
		{
			name: "origin without scheme",
			yaml: sipYAML() + "http:\n  allowed_origins:\n    - \"*\"\n    - example.com\n",
			want: []string{`t.yaml:8: http.allowed_origins[1]: "example.com" is not "*" or an origin such as https://www.example.com`},
		},
		{
			name: "public url not http",
			yaml: sipYAML() + "http:\n  public_url: ftp://example.com\n",
			want: []string{`t.yaml:6: http.public_url: "ftp://example.com" is not an http:// or https:// URL`},
		},
		{
			name: "stun without scheme",
			yaml: sipYAML() + "ice:\n  stun: [stun.example.com]\n",
			want: []string{`t.yaml:6: ice.stun[0]: "stun.example.com" does not start with stun: or stuns:`},
		},
		{
			name: "turn url and credentials",
			yaml: sipYAML() + "ice:\n  turn:\n    - urls: [stun:turn.example.com]\n",
			want: []string{
				`t.yaml:7: ice.turn[0].urls[0]: "stun:turn.example.com" does not start with turn: or turns:`,
				`t.yaml:7: ice.turn[0]: set secret_env (short-lived credentials) or both username and credential`,
			},
		},
		{
			name: "turn secret and static credentials",
			yaml: sipYAML() + "ice:\n  turn:\n    - urls: [turn:t.example.com]\n      secret: s\n      username: u\n      credential: c\n      ttl: 10s\n",
			want: []string{
				`t.yaml:9: ice.turn[0].username: use either secret/secret_env or username/credential, not both`,
				`t.yaml:11: ice.turn[0].ttl: 10s is shorter than one minute`,
			},
		},
		{
			name: "negative limit",
			yaml: sipYAML() + "limits:\n  max_sessions_per_ip: -1\n",
			want: []string{`t.yaml:6: limits.max_sessions_per_ip: -1 is negative`},
		},
		{
			name: "per-ip above global",
			yaml: sipYAML() + "limits:\n  max_sessions: 10\n  max_sessions_per_ip: 11\n",
			want: []string{`t.yaml:7: limits.max_sessions_per_ip: 11 is more than max_sessions (10)`},
		},
		{
			name: "widget id missing",
			yaml: sipYAML() + "widgets:\n  - type: sidebar\n",
			want: []string{"t.yaml:6: widgets[0].id is required (a UUID; `frontdesk new` makes one)"},
		},
		{
			name: "widget id not a uuid",
			yaml: sipYAML() + "widgets:\n  - id: abc\n    type: sidebar\n",
			want: []string{`t.yaml:6: widgets[0].id: "abc" is not a UUID (32 hex digits, dashes allowed)`},
		},
		{
			name: "widget id used twice in two forms",
			yaml: widgetYAML("  - id: 5D0C2F3E-8A9B-4C1D-9E7F-6A5B4C3D2E1F", "    type: cards"),
			want: []string{`t.yaml:8: widgets[1].id: 5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f is already the id of widgets[0] (line 6)`},
		},
		{
			name: "widget type missing",
			yaml: sipYAML() + "widgets:\n  - id: " + testWidgetID + "\n",
			want: []string{`t.yaml:6: widgets[0].type is required (sidebar or cards)`},
		},
		{
			name: "widget type unknown",
			yaml: sipYAML() + "widgets:\n  - id: " + testWidgetID + "\n    type: popup\n",
			want: []string{`t.yaml:7: widgets[0].type: "popup" is not one of sidebar, cards`},
		},
		{
			name: "widget lang",
			yaml: widgetYAML("    lang: EN"),
			want: []string{`t.yaml:8: widgets[0].lang: "EN" is not a two-letter lowercase language code such as en`},
		},
		{
			name: "contact email and web",
			yaml: widgetYAML("    contact:", "      email: Sales <sales@example.com>", "      web: www.example.com"),
			want: []string{
				`t.yaml:9: widgets[0].contact.email: "Sales <sales@example.com>" is not an email address such as alice@example.com`,
				`t.yaml:10: widgets[0].contact.web: "www.example.com" is not an http:// or https:// URL`,
			},
		},
		{
			name: "style problems all reported",
			yaml: widgetYAML("    style:", "      position: top", `      accent: "#12345"`, "      margin_top: 12", "      z_index: -5", "      font_family: \"x;}body{\""),
			want: []string{
				`t.yaml:9: widgets[0].style.position: "top" is not one of left, right`,
				`t.yaml:10: widgets[0].style.accent: "#12345" is not a CSS colour such as #0a84ff, rgb(10,132,255) or navy`,
				`t.yaml:11: widgets[0].style.margin_top: "12" is not a CSS length such as 12px, 1em or 0`,
				`t.yaml:12: widgets[0].style.z_index: -5 is not between 0 and 2147483647`,
				`t.yaml:13: widgets[0].style.font_family: "x;}body{" is not a font list such as "Helvetica, Arial, sans-serif"`,
			},
		},
		{
			name: "z_index out of range",
			yaml: widgetYAML("    style:", "      z_index: 2147483648"),
			want: []string{`t.yaml:9: widgets[0].style.z_index: 2147483648 is not between 0 and 2147483647`},
		},
		{
			name: "origin in widget",
			yaml: widgetYAML(`    allowed_origins: ["https://example.com?x=1"]`),
			want: []string{`t.yaml:8: widgets[0].allowed_origins[0]: "https://example.com?x=1" is not an origin: remove everything after the host and port`},
		},
		{
			name: "teasers language and empty text",
			yaml: widgetYAML("    teasers:", "      english: [hi]", `      de: [""]`),
			want: []string{
				`t.yaml:9: widgets[0].teasers.english: "english" is not a two-letter lowercase language code`,
				`t.yaml:10: widgets[0].teasers.de[0] is empty`,
			},
		},
		{
			name: "expected reply language and empty line",
			yaml: widgetYAML("    expected_reply:", "      english: Soon", `      de: ""`),
			want: []string{
				`t.yaml:9: widgets[0].expected_reply.english: "english" is not a two-letter lowercase language code`,
				`t.yaml:10: widgets[0].expected_reply.de: must be a line of 1 to 200 characters`,
			},
		},
		{
			name: "strings language and key",
			yaml: widgetYAML("    strings:", "      EN:", "        \"bad key\": x"),
			want: []string{
				`t.yaml:9: widgets[0].strings.EN: "EN" is not a two-letter lowercase language code`,
				`t.yaml:9: widgets[0].strings.EN: "bad key" is not a valid string key`,
			},
		},
		{
			name: "agent sip missing",
			yaml: agentYAML("name: Bob"),
			want: []string{`t.yaml:9: widgets[0].agents[0].sip is required (sip:user@domain, user@domain or user)`},
		},
		{
			name: "agent sip with a space",
			yaml: agentYAML(`sip: "bob smith"`),
			want: []string{`t.yaml:9: widgets[0].agents[0].sip: "bob smith" has characters not allowed in a SIP user part`},
		},
		{
			name: "agent sip of another scheme",
			yaml: agentYAML(`sip: "tel:+4930123"`),
			want: []string{`t.yaml:9: widgets[0].agents[0].sip: "tel:+4930123" is not a sip: address`},
		},
		{
			name: "agent sip with a bad domain",
			yaml: agentYAML(`sip: "bob@exa mple.com"`),
			want: []string{`t.yaml:9: widgets[0].agents[0].sip: domain of "bob@exa mple.com": "exa mple.com" is not a host name or IP address`},
		},
		{
			name: "agent id characters",
			yaml: agentYAML("sip: bob", "id: bob/1"),
			want: []string{`t.yaml:10: widgets[0].agents[0].id: "bob/1" may only have letters, digits, '.', '_' and '-' (at most 64)`},
		},
		{
			name: "agent default id unusable",
			yaml: agentYAML(`sip: "+4930123"`),
			want: []string{`t.yaml:9: widgets[0].agents[0].id: the default id "+4930123" (from sip) may only have letters, digits, '.', '_' and '-'; set id`},
		},
		{
			name: "agent id used twice",
			yaml: widgetYAML("    agents:", "      - sip: bob", "      - sip: bob@other.test"),
			want: []string{`t.yaml:10: widgets[0].agents[1].id: "bob" is already the id of widgets[0].agents[0] (line 9); set a distinct id`},
		},
		{
			name: "agent media",
			yaml: agentYAML("sip: bob", "media: [voice, fax, email, voice]"),
			want: []string{
				`t.yaml:10: widgets[0].agents[0].media[1]: "fax" is not one of voice, video, chat, email`,
				`t.yaml:10: widgets[0].agents[0].media[2]: email needs the agent's email address`,
				`t.yaml:10: widgets[0].agents[0].media[3]: voice is listed twice`,
			},
		},
		{
			name: "agent media not a list",
			yaml: agentYAML("sip: bob", "media: voice"),
			want: []string{`t.yaml:10: widgets[0].agents[0].media: expected a list, got a single value`},
		},
		{
			name: "agent mode misspelt",
			yaml: agentYAML("sip: bob", "mode: presense"),
			want: []string{`t.yaml:10: widgets[0].agents[0].mode: "presense" is not one of presence, always, boolean, inactive`},
		},
		{
			name: "boolean missing",
			yaml: agentYAML("sip: night", "mode: boolean"),
			want: []string{`t.yaml:9: widgets[0].agents[0].boolean is required with mode boolean (the boolean object's SIP address)`},
		},
		{
			name: "boolean without mode boolean",
			yaml: agentYAML("sip: bob", "boolean: day"),
			want: []string{`t.yaml:10: widgets[0].agents[0].boolean is only used with mode boolean, not presence`},
		},
		{
			name: "link url and title",
			yaml: agentYAML("sip: bob", "link:", "  url: ftp://example.com/x"),
			want: []string{
				`t.yaml:10: widgets[0].agents[0].link.title is required with link.url`,
				`t.yaml:11: widgets[0].agents[0].link.url: "ftp://example.com/x" is not an http(s), mailto: or tel: URL`,
			},
		},
		{
			name: "link without url",
			yaml: agentYAML("sip: bob", "link:", "  title: Shop"),
			want: []string{`t.yaml:10: widgets[0].agents[0].link.url is required`},
		},
		{
			name: "agent email",
			yaml: agentYAML("sip: bob", "email: not-an-address"),
			want: []string{`t.yaml:10: widgets[0].agents[0].email: "not-an-address" is not an email address such as alice@example.com`},
		},
		{
			name: "picture missing",
			yaml: agentYAML("sip: bob", "picture: bob.png"),
			want: []string{`t.yaml:10: widgets[0].agents[0].picture: cannot use "bob.png": no such file or directory`},
		},
		{
			name: "wrong kind for a section",
			yaml: "sip: [a, b]\n",
			want: []string{`t.yaml:1: sip: expected a mapping (key: value lines), got a list`},
		},
		{
			name: "not a boolean",
			yaml: widgetYAML("    always_show: maybe"),
			want: []string{`t.yaml:8: widgets[0].always_show: "maybe" is not true or false`},
		},
		{
			name: "merge keys",
			yaml: sipYAML() + "limits:\n  <<: {max_sessions: 5}\n",
			want: []string{`t.yaml:6: limits: merge keys (<<) are not supported; repeat the keys or use an alias for the whole value`},
		},
		{
			name: "problems in several sections collected in line order",
			yaml: sipYAML("  transport: sctp") + "limits:\n  max_sessions: lots\nwidgets:\n  - id: nope\n    type: cards\n    bogus: 1\n",
			want: []string{
				`t.yaml:5: sip.transport: "sctp" is not one of udp, tcp, tls`,
				`t.yaml:7: limits.max_sessions: "lots" is not a whole number`,
				`t.yaml:9: widgets[0].id: "nope" is not a UUID (32 hex digits, dashes allowed)`,
				`t.yaml:11: widgets[0]: unknown key "bogus"`,
			},
		},
		{
			name: "yaml syntax error",
			yaml: sipYAML() + "limits:\n  max_sessions: @5\n",
			want: []string{`t.yaml:6: invalid YAML: found character that cannot start any token`},
		},
		{
			name: "two documents",
			yaml: sipYAML() + "---\nsip: {}\n",
			want: []string{`t.yaml:5: only one YAML document is allowed; remove the second one (after ---)`},
		},
		{
			name: "empty file",
			yaml: "",
			want: []string{
				`t.yaml: sip.registrar is required (the PBX's host, host:port or sip: URI)`,
				`t.yaml: sip.username is required (the SIP user the gateway registers as)`,
				`t.yaml: sip: one of password, password_env or password_file is required`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse("t.yaml", []byte(tt.yaml), dir)
			if c != nil {
				t.Fatalf("Parse returned a config for invalid input:\n%s", numbered(tt.yaml))
			}
			got := problemStrings(t, err)
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n got %q\nwant %q\ninput:\n%s", got, tt.want, numbered(tt.yaml))
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	data := make([]byte, MaxFileBytes+1)
	_, _, err := Parse("big.yaml", data, "")
	got := problemStrings(t, err)
	want := []string{"big.yaml: the file is 4194305 bytes; at most 4194304 are allowed"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestErrorsOnePerLine(t *testing.T) {
	err := Errors{{File: "a.yaml", Line: 3, Msg: "x: bad"}, {File: "a.yaml", Msg: "y is required"}}
	if got, want := err.Error(), "a.yaml:3: x: bad\na.yaml: y is required"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "frontdesk.yaml")
	if err := os.WriteFile(path, []byte(agentYAML("sip: bob", "mode: presense")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := Load(path)
	got := problemStrings(t, err)
	want := path + `:10: widgets[0].agents[0].mode: "presense" is not one of presence, always, boolean, inactive`
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %q, want [%q]", got, want)
	}

	_, _, err = Load(filepath.Join(dir, "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "load config:") {
		t.Errorf("Load of a missing file: err = %v, want a load config error", err)
	}
}
