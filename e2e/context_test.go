//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

const contextWidget = "c0a7e47b1d2e4f5a8b9c0d1e2f3a4b5c"

// contextHostileTopic is what a visitor might type to smuggle headers into
// the INVITE or lines into a notice.
const contextHostileTopic = "Returns\r\nX-Injected: 1\r\nContact: <sip:evil@example.com>\u202e"

// TestContextReachesTheAgent: what the visitor said in the widget's form
// and the page they are on reach the agent, checked and on one line each:
// a call's INVITE (checked by sipp playing the phone: Subject, Call-Info,
// Alert-Info, nothing smuggled in) and the MESSAGE just before it, a chat's
// new-chat notice, and the leave-a-message webhook's JSON.
func TestContextReachesTheAgent(t *testing.T) {
	if err := testbed.CheckBinaries(false); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	ctx := ctxT(t, 3*time.Minute)
	users := []testbed.User{{Name: "frontdesk", Password: gwPassword}}
	for _, a := range []string{"ctxcall", "ctxchat"} {
		users = append(users, testbed.User{Name: a, Password: a + "-pw"})
	}
	tb, err := testbed.Start(ctx, testbed.Options{Dir: t.TempDir(), Users: users,
		Log: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	t.Setenv("FD_E2E_WEBHOOK", "context-hook-secret")

	// The webhook receiver checks the signature as the README says.
	bodies := make(chan []byte, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if chat.Sign("context-hook-secret", r.Header.Get(chat.HeaderTimestamp), body) != r.Header.Get(chat.HeaderSignature) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		bodies <- body
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)

	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, gatewayHead(tb.Addr(), e2eOrigin)+fmt.Sprintf(`widgets:
  - id: %s
    type: cards
    name: Context shop
    form: {name: required, email: optional, topic: optional}
    send_page_url: full
    alert_info: "<urn:alert:service:normal>"
    fallback:
      webhook: {url: %q, secret_env: FD_E2E_WEBHOOK, attempts: 2}
    agents:
      - {id: ctxcall, sip: ctxcall, mode: always, media: [voice]}
      - {id: ctxchat, sip: ctxchat, mode: always, media: [chat]}
`, contextWidget, hook.URL+"/left"))
	gw := startGateway(t, cfgPath, "--sip-trace")
	gw.waitHealth("registered", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })
	e := &callEnv{tb: tb, gw: gw, ctx: ctx}
	page := "https://shop.example.com/kettles?id=7#reviews"

	t.Run("call: the INVITE's headers and the notice before it", func(t *testing.T) {
		a := e.sippAgentRun(t, "ctxcall", "call-context.xml", false, sippRun{calls: 2, timeout: 60 * time.Second})
		v := gw.visit(e2eOrigin)
		v.start(contextWidget)
		p := newPhone(t, v, phoneOptions{})
		sdp := p.offer()
		p.sendJSON(map[string]any{"mt": "CreateCall", "dest": "ctxcall", "dn": "Vera\r\nVia: evil", "email": "vera@example.com",
			"topic": contextHostileTopic, "page": page})
		p.sendJSON(map[string]any{"mt": "Channels", "cmd": "PROPOSAL", "sdp": sdp})
		p.expectEnd("busy", callWait)
		a.done(t) // sipp checked the INVITE
		trace := readFile(t, a.messages)
		invite := sippReceived(t, trace, "INVITE ")
		for name, want := range map[string]string{
			"Subject":    "Context shop: Returns X-Injected: 1 Contact: <sip:evil@example.com>",
			"Call-Info":  "<https://shop.example.com/kettles?id=7>;purpose=info",
			"Alert-Info": "<urn:alert:service:normal>",
		} {
			if got := flowHeader(invite, name); got != want {
				t.Errorf("INVITE %s: %q, want %q", name, got, want)
			}
		}
		if from := flowHeader(invite, "From"); !strings.HasPrefix(from, `"Vera Via: evil" <sip:frontdesk@`) {
			t.Errorf("INVITE From %q, want the name on one line", from)
		}
		if strings.Contains(invite, "\nVia: evil") || strings.Contains(invite, "\nX-Injected") || strings.Contains(invite, "\nContact: <sip:evil") {
			t.Errorf("a header was smuggled into the INVITE:\n%s", invite)
		}
		notice := sippReceived(t, trace, "MESSAGE ")
		want := "[Call from “Vera Via: evil” via Context shop.\nEmail: vera@example.com\nTopic: “Returns X-Injected: 1 Contact: <sip:evil@example.com>”\n" +
			"Page: https://shop.example.com/kettles?id=7\nTheir call rings now.]"
		if body := sippBody(notice); body != want {
			t.Errorf("the call notice reads\n%s\nwant\n%s", body, want)
		}
		if strings.Index(trace, "MESSAGE sip:") > strings.Index(trace, "INVITE sip:") {
			t.Error("the call notice reached the phone after the INVITE")
		}
	})

	t.Run("chat: the new-chat notice", func(t *testing.T) {
		a := e.sippAgentRun(t, "ctxchat", "message-accept.xml", false, sippRun{calls: 1, timeout: 60 * time.Second})
		v := gw.visit(e2eOrigin)
		v.start(contextWidget)
		v.send(`{"mt":"ChatOpen","dest":"ctxchat","dn":"Vera","email":"vera@example.com","topic":"Kettles","page":"https://shop.example.com/kettles"}`)
		if m, _ := v.waitFor("chat opened", callWait, func(m map[string]any) bool { return m["mt"] == "ChatOpened" || m["mt"] == "Error" }); m["mt"] != "ChatOpened" {
			t.Fatalf("ChatOpen answered %v", m)
		}
		a.done(t)
		want := "[New chat from “Vera” via Context shop.\nEmail: vera@example.com\nTopic: “Kettles”\nPage: https://shop.example.com/kettles\n" +
			"Your replies go to this visitor until the chat ends.]"
		if body := sippBody(sippReceived(t, readFile(t, a.messages), "MESSAGE ")); body != want {
			t.Errorf("the new-chat notice reads\n%s\nwant\n%s", body, want)
		}
		// A page of another site is not passed on; an email that is none
		// is refused before the agent hears of it.
		v.send(`{"mt":"ChatClose"}`)
		v.waitFor("chat closed", callWait, func(m map[string]any) bool { return m["mt"] == "ChatEnded" })
		v.send(`{"mt":"ChatOpen","dest":"ctxchat","dn":"Vera","email":"vera at example"}`)
		if m, _ := v.waitFor("refusal", callWait, func(m map[string]any) bool { return m["mt"] == "Error" }); m["code"] != "bad-form" {
			t.Errorf("ChatOpen with a bad email answered %v, want bad-form", m)
		}
	})

	t.Run("leave a message: the webhook's JSON", func(t *testing.T) {
		v := gw.visit(e2eOrigin)
		v.start(contextWidget)
		v.send(`{"mt":"LeaveMessage","id":"l1","name":"Vera","contact":"vera@example.com","text":"Call me back.","topic":"Kettles","page":"https://evil.example.net/phish"}`)
		if m, _ := v.waitFor("message left", callWait, func(m map[string]any) bool { return m["mt"] == "MessageLeft" }); m["ok"] != true {
			t.Fatalf("MessageLeft %v", m)
		}
		var got map[string]any
		select {
		case body := <-bodies:
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
		case <-time.After(callWait):
			t.Fatal("no webhook call")
		}
		if got["widget_name"] != "Context shop" || got["topic"] != "Kettles" || got["name"] != "Vera" || got["contact"] != "vera@example.com" {
			t.Errorf("webhook JSON %v", got)
		}
		if _, ok := got["page"]; ok {
			t.Errorf("the webhook got a page of another site: %v", got["page"])
		}
	})
}

// sippReceived returns the first message sipp's trace (-trace_msg) shows
// received that starts with start ("INVITE ", "MESSAGE ").
func sippReceived(t *testing.T, trace, start string) string {
	t.Helper()
	for _, block := range strings.Split(trace, "----------------------------------------------- ") {
		if !strings.Contains(block, "message received") {
			continue
		}
		if i := strings.Index(block, "\n"+start); i >= 0 {
			return strings.ReplaceAll(block[i+1:], "\r\n", "\n")
		}
	}
	t.Fatalf("sipp received no %q; its trace:\n%s", start, trace)
	return ""
}

// sippBody is the body of a message from sippReceived.
func sippBody(msg string) string {
	_, body, _ := strings.Cut(msg, "\n\n")
	return strings.TrimRight(body, "\n")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
