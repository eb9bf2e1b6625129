package widget

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/frontdesk-gw/frontdesk/sip"
)

func TestPageURL(t *testing.T) {
	const origin = "https://shop.example.com"
	for _, tc := range []struct {
		name, raw string
		mode      config.PageURL
		want      string
	}{
		{"path drops query and fragment", "https://shop.example.com/kettles?id=7#top", config.PageURLPath, "https://shop.example.com/kettles"},
		{"full keeps the query, re-encoded", "https://shop.example.com/kettles?id=7&q=a b<c>#top", config.PageURLFull, "https://shop.example.com/kettles?id=7&q=a+b%3Cc%3E"},
		{"credentials never pass", "https://ann:secret@shop.example.com/account", config.PageURLPath, "https://shop.example.com/account"},
		{"default port is the origin", "https://shop.example.com:443/", config.PageURLPath, "https://shop.example.com:443/"},
		{"angle brackets in the path are escaped", "https://shop.example.com/a>b<c", config.PageURLPath, "https://shop.example.com/a%3Eb%3Cc"},
		{"off", "https://shop.example.com/kettles", config.PageURLOff, ""},
		{"another site", "https://evil.example.net/kettles", config.PageURLFull, ""},
		{"another scheme of the site", "http://shop.example.com/kettles", config.PageURLPath, ""},
		{"javascript", "javascript:alert(1)", config.PageURLFull, ""},
		{"data", "data:text/html,hi", config.PageURLFull, ""},
		{"CRLF", "https://shop.example.com/\r\nContact: <sip:evil@example.com>", config.PageURLFull, ""},
		{"too long", "https://shop.example.com/" + strings.Repeat("a", maxPageURL), config.PageURLPath, ""},
		{"relative", "/kettles", config.PageURLPath, ""},
	} {
		if got := pageURL(tc.raw, origin, tc.mode); got != tc.want {
			t.Errorf("%s: pageURL(%q) = %q, want %q", tc.name, tc.raw, got, tc.want)
		}
	}
	if got := pageURL("https://shop.example.com/", "", config.PageURLFull); got != "" {
		t.Errorf("a session without an origin passed page %q", got)
	}
}

// TestCallContextHostile: whatever the visitor types, every header is one
// line the SIP layer takes, and nothing becomes a header of its own.
func TestCallContextHostile(t *testing.T) {
	w := &config.Widget{ID: "w1", Name: "Example shop", AlertInfo: "<urn:alert:service:normal>"}
	a := &config.Agent{ID: "alice", URI: "sip:alice@example.com"}
	topic := oneLine("Returns\r\nContact: <sip:evil@example.com>\x00\u202E\u2028Via: x " + strings.Repeat("y", 300))
	cc := newCallContext(w, a, "Ann", contextOf("ann@example.com", topic, "https://shop.example.com/kettles"))
	got := map[string]string{}
	for _, h := range cc.headers {
		got[h.Name] = h.Value
		// What the SIP layer takes (sip.CallRequest.Headers).
		if strings.IndexFunc(h.Value, unicode.IsControl) >= 0 || len(h.Value) > 1024 || strings.TrimSpace(h.Value) != h.Value {
			t.Errorf("%s is not one bounded line: %q", h.Name, h.Value)
		}
	}
	if s := got["Subject"]; !strings.HasPrefix(s, "Example shop: Returns Contact: <sip:evil@example.com> Via: x yyy") || len([]rune(s)) > maxSubject {
		t.Errorf("Subject %q", s)
	}
	if got["Call-Info"] != "<https://shop.example.com/kettles>;purpose=info" || got["Alert-Info"] != "<urn:alert:service:normal>" {
		t.Errorf("headers %v", got)
	}
	if cc.notice == nil || cc.notice.Context.Topic != topic || cc.notice.AgentURI != a.URI {
		t.Errorf("notice %+v", cc.notice)
	}
	if cc := newCallContext(w, a, "Ann", contextOf("", "", "")); cc.notice != nil || len(cc.headers) != 2 {
		t.Errorf("a visitor who gave only a name: notice %v, headers %v; want none and Subject, Alert-Info", cc.notice, cc.headers)
	}
}

// TestFormRefusals: a call whose answers the widget's form does
// not take is refused with bad-form, and nothing is dialled.
func TestFormRefusals(t *testing.T) {
	form := "    form: {email: required, topic: required, topics: [Orders, Returns]}\n    name: Visitenkarten\n"
	for _, tc := range []struct{ name, msg string }{
		{"email missing", `{"mt":"CreateCall","dest":"voiceonly","dn":"Ann","topic":"Orders"}`},
		{"email that is none", `{"mt":"CreateCall","dest":"voiceonly","dn":"Ann","email":"ann","topic":"Orders"}`},
		{"email with a header", `{"mt":"CreateCall","dest":"voiceonly","dn":"Ann","email":"ann@example.com\r\nX: 1","topic":"Orders"}`},
		{"topic missing", `{"mt":"CreateCall","dest":"voiceonly","dn":"Ann","email":"ann@example.com"}`},
		{"topic not offered", `{"mt":"CreateCall","dest":"voiceonly","dn":"Ann","email":"ann@example.com","topic":"Anything else"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := &recordingCalls{err: errors.New("not placed")}
			f := newFixture(t, strings.Replace(callYAML, "    name: Visitenkarten\n", form, 1))
			f.srv.opts.Calls = calls
			f.avail.set("voiceonly", presence.Available)
			c := f.dial(testOrigin)
			c.start()
			c.send(tc.msg)
			if m := c.expect("Error"); m["code"] != string(CodeBadForm) {
				t.Fatalf("got %v, want bad-form", m)
			}
			c.send(`{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0\r\n"}`)
			if m := c.expect("Error"); m["code"] != string(CodeNoCall) {
				t.Fatalf("Channels after the refusal: %v", m)
			}
			if got := calls.requests(); len(got) != 0 {
				t.Fatalf("dialled %v", got)
			}
		})
	}
}

// TestCallCarriesItsContext: the form's answers and the page become the
// INVITE's headers.
func TestCallCarriesItsContext(t *testing.T) {
	calls := &recordingCalls{err: errors.New("not placed")}
	f := newFixture(t, strings.Replace(callYAML, "    name: Visitenkarten\n", "    name: Visitenkarten\n    form: {topic: optional}\n", 1))
	f.srv.opts.Calls = calls
	f.avail.set("voiceonly", presence.Available)
	c := f.dial(testOrigin)
	c.start()
	c.send(`{"mt":"CreateCall","dest":"voiceonly","dn":"Ann","email":"ignored@example.com","topic":" Returns\n","page":"https://www.example.com/kettles?id=7"}`)
	c.send(`{"mt":"Channels","cmd":"PROPOSAL","sdp":"v=0\r\n"}`)
	c.expect("CallInfo")
	got := calls.requests()
	if len(got) != 1 {
		t.Fatalf("dialled %v", got)
	}
	want := []sip.Header{{Name: "Subject", Value: "Visitenkarten: Returns"}, {Name: "Call-Info", Value: "<https://www.example.com/kettles>;purpose=info"}}
	if len(got[0].Headers) != len(want) || got[0].Headers[0] != want[0] || got[0].Headers[1] != want[1] {
		t.Errorf("INVITE headers %v, want %v", got[0].Headers, want)
	}
}

func contextOf(email, topic, page string) chat.Context {
	return chat.Context{Email: email, Topic: topic, Page: page}
}
