package sipaddr

import (
	"errors"
	"testing"
)

// Every form one of the four former normalizers handled (config agent and
// server addresses, the sip package's incoming URIs and registrar, chat's
// reply matching), plus the From and To forms of the SIP corpus.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, str, aor, key string
	}{
		// config: server addresses
		{in: "pbx.example.com", str: "sip:pbx.example.com", aor: "sip:pbx.example.com", key: "pbx.example.com"},
		{in: "10.0.0.1:5070", str: "sip:10.0.0.1:5070", aor: "sip:10.0.0.1", key: "10.0.0.1"},
		{in: "sip:pbx.example.com:5080;transport=tcp", str: "sip:pbx.example.com:5080", aor: "sip:pbx.example.com", key: "pbx.example.com"},
		{in: "sips:PBX.Example.com", str: "sips:pbx.example.com", aor: "sips:pbx.example.com", key: "pbx.example.com"},
		{in: "[2001:db8::1]:5060", str: "sip:[2001:db8::1]:5060", aor: "sip:[2001:db8::1]", key: "[2001:db8::1]"},
		{in: "2001:DB8::1", str: "sip:[2001:db8::1]", aor: "sip:[2001:db8::1]", key: "[2001:db8::1]"},
		// config: agent addresses (with @; bare users are ParseUser's)
		{in: "alice@Other.Test", str: "sip:alice@other.test", aor: "sip:alice@other.test", key: "alice@other.test"},
		{in: "SIP:Alice@PBX.test:5061;transport=tcp", str: "sip:Alice@pbx.test:5061", aor: "sip:Alice@pbx.test", key: "Alice@pbx.test"},
		{in: "sips:alice@pbx.test", str: "sips:alice@pbx.test", aor: "sips:alice@pbx.test", key: "alice@pbx.test"},
		// chat: name-addrs, subaddresses, headers
		{in: "sip:101@PBX.Example.com", str: "sip:101@pbx.example.com", aor: "sip:101@pbx.example.com", key: "101@pbx.example.com"},
		{in: "Agent <sips:Bob@pbx.test:5061;transport=tls>", str: "sips:Bob@pbx.test:5061", aor: "sips:Bob@pbx.test", key: "Bob@pbx.test"},
		{in: "sip:101@[2001:db8::1]:5060", str: "sip:101@[2001:db8::1]:5060", aor: "sip:101@[2001:db8::1]", key: "101@[2001:db8::1]"},
		{in: "sip:pbx.test", str: "sip:pbx.test", aor: "sip:pbx.test", key: "pbx.test"},
		{in: "sip:frontdesk+k7x2q9@pbx.test?subject=x", str: "sip:frontdesk+k7x2q9@pbx.test", aor: "sip:frontdesk+k7x2q9@pbx.test", key: "frontdesk+k7x2q9@pbx.test"},
		{in: `"A <b> \"c\"" <sip:c@pbx.test>;tag=1`, str: "sip:c@pbx.test", aor: "sip:c@pbx.test", key: "c@pbx.test"},
		// escapes: unreserved ones are the character, reserved ones stay
		{in: "sip:%41lice@pbx.test", str: "sip:Alice@pbx.test", aor: "sip:Alice@pbx.test", key: "Alice@pbx.test"},
		{in: "sip:a%2bb%3b@pbx.test", str: "sip:a%2Bb%3B@pbx.test", aor: "sip:a%2Bb%3B@pbx.test", key: "a%2Bb%3B@pbx.test"},
		{in: "sip:*97#@pbx.test", str: "sip:*97#@pbx.test", aor: "sip:*97#@pbx.test", key: "*97#@pbx.test"},
		// corpus From/To forms
		{in: `"MS TFT" <sip:lollol-labo-ms-tft1@11.11.111.111>;tag=as2413a381`, str: "sip:lollol-labo-ms-tft1@11.11.111.111", aor: "sip:lollol-labo-ms-tft1@11.11.111.111", key: "lollol-labo-ms-tft1@11.11.111.111"},
		{in: `"Name A" <sip:A@192.168.1.1>;tag=a9c3bcd28561b732`, str: "sip:A@192.168.1.1", aor: "sip:A@192.168.1.1", key: "A@192.168.1.1"},
		{in: `<sip:7099092@10.199.245.133>;tag=25772101~9f1775fa-0e9b-4036-aa72-02ca008dcf9d-59792824`, str: "sip:7099092@10.199.245.133", aor: "sip:7099092@10.199.245.133", key: "7099092@10.199.245.133"},
		{in: `<sip:ID00000002@uep>;tag=as114a0625`, str: "sip:ID00000002@uep", aor: "sip:ID00000002@uep", key: "ID00000002@uep"},
		{in: `<sip:chatroom-x3q~~zLM7kgZVb2F@conf.example.org;gr=227ee6f2-7305-007b-a8ef-91d80190c1c1>;tag=5vcw~em`, str: "sip:chatroom-x3q~~zLM7kgZVb2F@conf.example.org", aor: "sip:chatroom-x3q~~zLM7kgZVb2F@conf.example.org", key: "chatroom-x3q~~zLM7kgZVb2F@conf.example.org"},
		{in: `<sip:192.168.1.3>`, str: "sip:192.168.1.3", aor: "sip:192.168.1.3", key: "192.168.1.3"},
		{in: `<sip:laure_987xhma@sip.example.org;gr=urn:uuid:1ffae8c7-23cf-4c5d-9680-0b3b37848031>;tag=x3OWQUqIh`, str: "sip:laure_987xhma@sip.example.org", aor: "sip:laure_987xhma@sip.example.org", key: "laure_987xhma@sip.example.org"},
		{in: `<sip:lollol-labo-iphone4s@22.22.22.222:5861;app-id=fr.lollol.phone.prod;pn-type=apple;transport=tcp>;tag=`, str: "sip:lollol-labo-iphone4s@22.22.22.222:5861", aor: "sip:lollol-labo-iphone4s@22.22.22.222", key: "lollol-labo-iphone4s@22.22.22.222"},
	} {
		a, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if a.String() != tc.str || a.AOR() != tc.aor || a.Key() != tc.key {
			t.Errorf("Parse(%q) = %q / %q / %q, want %q / %q / %q", tc.in, a.String(), a.AOR(), a.Key(), tc.str, tc.aor, tc.key)
		}
		// The rule is idempotent: its output reads back as itself.
		if b, err := Parse(a.String()); err != nil || b != a {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", a.String(), b, err, a)
		}
	}
}

func TestParseUser(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{in: "alice", want: "sip:alice@pbx.test"},
		{in: "sip:alice", want: "sip:alice@pbx.test"},
		{in: "sip:alice;transport=tcp", want: "sip:alice@pbx.test"},
		{in: "201", want: "sip:201@pbx.test"},
		{in: "+4930123", want: "sip:+4930123@pbx.test"},
		{in: "Daytime", want: "sip:Daytime@pbx.test"},
		{in: "alice@Other.Test", want: "sip:alice@other.test"},
		{in: "SIP:Alice@PBX.test:5061;transport=tcp", want: "sip:Alice@pbx.test:5061"},
		{in: " sips:alice@pbx.test ", want: "sips:alice@pbx.test"},
	} {
		a, err := ParseUser(tc.in, "pbx.test")
		if err != nil || a.String() != tc.want {
			t.Errorf("ParseUser(%q) = %q, %v; want %q", tc.in, a.String(), err, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		in     string
		user   bool
		domain string
		kind   error
		text   string
	}{
		{in: "", kind: ErrEmpty, text: "empty address"},
		{in: "tel:+4930123", user: true, domain: "pbx.test", kind: ErrScheme, text: `"tel:+4930123" is not a sip: address`},
		{in: "tel:+4930123", kind: ErrScheme, text: `"tel:+4930123" is not a sip: address`},
		{in: "mailto:a@b.test", kind: ErrScheme},
		{in: "bob smith", user: true, domain: "pbx.test", kind: ErrUser, text: `"bob smith" has characters not allowed in a SIP user part`},
		{in: "bob@exa mple.com", user: true, domain: "pbx.test", kind: ErrHost, text: `domain of "bob@exa mple.com": "exa mple.com" is not a host name or IP address`},
		{in: "pbx.test:99999", kind: ErrPort, text: `"pbx.test:99999" has an invalid port "99999"`},
		{in: "pbx.test:0", kind: ErrPort},
		{in: "alice", user: true, kind: ErrHost, text: `"alice" has no domain and sip.domain is not set`},
		{in: "sip:@pbx.test", user: true, domain: "pbx.test", kind: ErrNoUser},
		{in: "sip:alice:pw@pbx.test", user: true, domain: "pbx.test", kind: ErrPassword},
		{in: "sip:user@", kind: ErrHost},
		{in: "sip:al\x01ce@pbx.test", kind: ErrUser},
		{in: "sip:alïce@pbx.test", kind: ErrUser},
		{in: "sip:a@[1.2.3.4]", kind: ErrHost},
		{in: "sip:a@pbx..test", kind: ErrHost},
	} {
		var err error
		if tc.user {
			_, err = ParseUser(tc.in, tc.domain)
		} else {
			_, err = Parse(tc.in)
		}
		if !errors.Is(err, tc.kind) || (tc.text != "" && err.Error() != tc.text) {
			t.Errorf("parse %q (user %v): %v; want %v %q", tc.in, tc.user, err, tc.kind, tc.text)
		}
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		scheme, user, host string
		port               int
		want               string
	}{
		{scheme: "SIP", user: "Bob", host: "PBX.test", port: 5060, want: "sip:Bob@pbx.test"},
		{scheme: "", user: "", host: "pbx.test", want: "sip:pbx.test"},
		{scheme: "sips", user: "%62ob", host: "2001:db8::1", want: "sips:bob@[2001:db8::1]"},
		{scheme: "sip", user: "x", host: "[2001:DB8::1]", want: "sip:x@[2001:db8::1]"},
	} {
		a, err := New(tc.scheme, tc.user, tc.host, tc.port)
		if err != nil || a.AOR() != tc.want {
			t.Errorf("New(%q, %q, %q, %d) = %q, %v; want %q", tc.scheme, tc.user, tc.host, tc.port, a.AOR(), err, tc.want)
		}
	}
	if _, err := New("tel", "1", "x.test", 0); !errors.Is(err, ErrScheme) {
		t.Errorf("tel scheme: %v", err)
	}
}

func TestParseServer(t *testing.T) {
	for in, want := range map[string]string{
		"pbx.example.com":                        "sip:pbx.example.com",
		"10.0.0.1:5070":                          "sip:10.0.0.1:5070",
		"sip:pbx.example.com:5080;transport=tcp": "sip:pbx.example.com:5080",
		"sips:pbx.example.com":                   "sips:pbx.example.com",
		"sip:gw@PBX.test":                        "sip:pbx.test",
		"[::1]:5060":                             "sip:[::1]:5060",
	} {
		a, err := ParseServer(in)
		if err != nil || a.String() != want {
			t.Errorf("ParseServer(%q) = %q, %v; want %q", in, a.String(), err, want)
		}
	}
	if a, _ := ParseServer("[::1]:5060"); a.Hostname() != "::1" {
		t.Errorf("Hostname %q", a.Hostname())
	}
	if _, err := ParseServer("user@host"); !errors.Is(err, ErrHost) {
		t.Errorf("user@host as a server: %v", err)
	}
}

// Comparing by Key: user parts are case-sensitive, hosts and schemes not.
func TestSameAgent(t *testing.T) {
	key := func(s string) string {
		a, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return a.Key()
	}
	if key("sip:alice@PBX.test:5060") != key(`"Alice" <SIPS:alice@pbx.test;transport=tls>`) {
		t.Error("host case, scheme, port or params made two addresses of one")
	}
	if key("sip:Alice@pbx.test") == key("sip:alice@pbx.test") {
		t.Error("user parts that differ in case compared equal")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"sip:alice@pbx.test", `"A" <sips:B@[::1]:5061;x=y>`, "pbx:5060", "%41@h", "tel:1", "sip:a%2b@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			return
		}
		b, err := Parse(a.String())
		if err != nil || b != a {
			t.Fatalf("Parse(%q) = %+v; reparsed %q as %+v, %v", s, a, a.String(), b, err)
		}
	})
}
