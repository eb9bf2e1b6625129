//go:build integration

package e2e

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

const chatWidget = "9b2e6a4c1d3f4e5a8b7c6d5e4f3a2b1c"

func chatConfig(addr string) string {
	return fmt.Sprintf(`sip:
  registrar: %s
  domain: frontdesk.test
  username: frontdesk
  password_env: FD_E2E_PASSWORD
  listen: 127.0.0.1:0
  trusted_sources: [127.0.0.1]
calls:
  webrtc_ips: [127.0.0.1] # media with visitors stays on loopback
  candidate_networks: [127.0.0.0/8] # and visitors' ICE candidates on this host are probed
%shttp:
  listen: 127.0.0.1:0
  allowed_origins: [%q]
chat:
  resume_grace: 4s
  send_timeout: 2s
widgets:
  - id: %s
    type: cards
    fallback: {sip: bob}
    agents:
      - {id: alice, sip: alice, media: [chat]}
      - {id: bob, sip: bob, media: [chat]}
      - {id: dave, sip: dave, mode: always, media: [chat]}
      - {id: rex, sip: rex, mode: always, media: [chat]}
      - {id: carol, sip: carol, media: [voice]}
`, addr, loopbackLimits, e2eOrigin, chatWidget)
}

// TestChatEndToEnd: visitors chat with baresip agents through Kamailio over
// SIP MESSAGE; replies reach exactly the right visitor; failures are reported
// with reasons; a dropped websocket resumes without losing the agent's
// messages; typing indicators cross both ways.
func TestChatEndToEnd(t *testing.T) {
	if err := testbed.CheckBinaries(true); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	ctx := ctxT(t, 4*time.Minute)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir: t.TempDir(),
		Users: []testbed.User{
			{Name: "frontdesk", Password: gwPassword},
			{Name: "rex", Password: "rex-pw"},
		},
		Agents: []testbed.AgentSpec{
			{Name: "alice", Password: "alice-pw", Presence: "online"},
			{Name: "bob", Password: "bob-pw", Presence: "online"},
		},
		Log: log,
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })

	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, chatConfig(tb.Addr()))
	gw := startGateway(t, cfgPath)
	gw.waitHealth("registered", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })

	vera := gw.visit(e2eOrigin)
	if _, infos := vera.start(chatWidget); infos["alice"]["presence"] != "online" {
		vera.waitFor("alice online", updateLimit, infoOf("alice", "online"))
	}
	vera.send(`{"mt":"ChatOpen","dest":"alice","dn":"Vera \"the\" Visitor"}`)
	opened, _ := vera.waitFor("chat opened", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatOpened" })
	token, _ := opened["token"].(string)
	if opened["dest"] != "alice" || len(token) < 16 {
		t.Fatalf("ChatOpened = %v", opened)
	}

	t.Run("visitor to agent", func(t *testing.T) {
		vera.send(`{"mt":"ChatSend","id":"c1","text":"Hello Alice, do you ship to Austria?"}`)
		d, _ := vera.waitFor("delivery", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatDelivery" })
		if d["id"] != "c1" || d["state"] != "delivered" {
			t.Fatalf("delivery = %v", d)
		}
		got := waitAgentMessage(t, tb.Agent("alice"), "Hello Alice, do you ship to Austria?")
		if !strings.Contains(got.From, "Vera the Visitor") || !strings.Contains(got.From, "sip:frontdesk@frontdesk.test") {
			t.Errorf("the agent sees From %q; want the visitor's sanitized name and the gateway's address", got.From)
		}
	})

	t.Run("agent to visitor", func(t *testing.T) {
		if err := tb.Agent("alice").SendMessage(ctx, "Yes, we do!"); err != nil {
			t.Fatal(err)
		}
		m, _ := vera.waitFor("agent's reply", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatMessage" })
		if m["text"] != "Yes, we do!" {
			t.Errorf("got %v", m)
		}
	})

	t.Run("second visitor, same agent, then another agent", func(t *testing.T) {
		walt := gw.visit(e2eOrigin)
		_, infos := walt.start(chatWidget)
		// Subscriptions are paced (sip.subscribe_rate): bob's presence may
		// still be on its way.
		if infos["bob"]["presence"] != "online" {
			walt.waitFor("bob online", updateLimit, infoOf("bob", "online"))
		}
		walt.send(`{"mt":"ChatOpen","dest":"alice","dn":"Walt"}`)
		if m, _ := walt.waitFor("refused", updateLimit, func(m map[string]any) bool { return m["mt"] == "Error" }); m["code"] != "agent-busy" {
			t.Fatalf("got %v, want agent-busy", m)
		}
		walt.send(`{"mt":"ChatOpen","dest":"bob","dn":"Walt"}`)
		walt.waitFor("chat with bob", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatOpened" })
		// bob's replies count once his client accepted the new-chat notice.
		gw.waitLog(t, "bob's new-chat notice accepted", func(l map[string]any) bool {
			return l["msg"] == "chat notice accepted" && l["agent"] == "bob@frontdesk.test"
		})
		if err := tb.Agent("bob").SendMessage(ctx, "Hi Walt, Bob here"); err != nil {
			t.Fatal(err)
		}
		if err := tb.Agent("alice").SendMessage(ctx, "Anything else, Vera?"); err != nil {
			t.Fatal(err)
		}
		if m, _ := walt.waitFor("bob's reply", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatMessage" }); m["text"] != "Hi Walt, Bob here" {
			t.Errorf("Walt got %v", m)
		}
		if m, _ := vera.waitFor("alice's reply", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatMessage" }); m["text"] != "Anything else, Vera?" {
			t.Errorf("Vera got %v", m)
		}
		walt.quiet("nothing of Vera's chat reaches Walt", 500*time.Millisecond, func(m map[string]any) bool {
			return m["mt"] == "ChatMessage"
		})
		// A MESSAGE from someone who is in no chat is refused and shown to nobody.
		code, err := tb.SendMessageAs(ctx, "rex", "rex-pw", "frontdesk", "text/plain;charset=UTF-8", []byte("let me in"))
		if err != nil || code < 400 {
			t.Errorf("a stray MESSAGE got %d, %v; want an error status", code, err)
		}
		vera.quiet("stray message not shown", 300*time.Millisecond, func(m map[string]any) bool { return m["mt"] == "ChatMessage" })
	})

	t.Run("typing both ways", func(t *testing.T) {
		vera.send(`{"mt":"ChatTyping","active":true}`)
		deadline := time.Now().Add(updateLimit)
		for {
			msgs, err := tb.Agent("alice").ReceivedMessages()
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, m := range msgs {
				found = found || (strings.Contains(m.Body, "isComposing") && strings.Contains(m.Body, "active"))
			}
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the agent got no isComposing active")
			}
			time.Sleep(100 * time.Millisecond)
		}
		body := `<?xml version="1.0" encoding="UTF-8"?>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing"><state>active</state><contenttype>text/plain</contenttype><refresh>60</refresh></isComposing>`
		code, err := tb.SendMessageAs(ctx, "alice", "alice-pw", "frontdesk", "application/im-iscomposing+xml", []byte(body))
		if err != nil || code != 200 {
			t.Fatalf("isComposing from alice: %d, %v", code, err)
		}
		if m, _ := vera.waitFor("agent typing", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatTyping" }); m["active"] != true {
			t.Errorf("got %v", m)
		}
	})

	t.Run("resume after a dropped websocket", func(t *testing.T) {
		vera.conn.Close()
		time.Sleep(200 * time.Millisecond)
		if err := tb.Agent("alice").SendMessage(ctx, "Sent while you were away"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		back := gw.visit(e2eOrigin)
		back.start(chatWidget)
		back.send(fmt.Sprintf(`{"mt":"ChatResume","token":%q,"seq":%d}`, token, vera.lastSeq()))
		o := back.next(updateLimit)
		if o["mt"] != "ChatOpened" || o["resumed"] != true || o["dest"] != "alice" {
			t.Fatalf("got %v, want ChatOpened resumed", o)
		}
		m, _ := back.waitFor("buffered reply", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatMessage" })
		if m["text"] != "Sent while you were away" {
			t.Errorf("got %v", m)
		}
		vera = back
	})

	t.Run("failures with reasons", func(t *testing.T) {
		// dave is available (mode always) but has no phone registered.
		v := gw.visit(e2eOrigin)
		v.start(chatWidget)
		v.send(`{"mt":"ChatOpen","dest":"dave","dn":"Olga"}`)
		v.waitFor("opened", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatOpened" })
		v.send(`{"mt":"ChatSend","id":"o1","text":"anyone?"}`)
		if d, _ := v.waitFor("delivery", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatDelivery" }); d["state"] != "failed" || d["reason"] != "offline" {
			t.Errorf("offline agent: %v", d)
		}
		v.send(`{"mt":"ChatSend","id":"o2","text":"` + strings.Repeat("x", 2001) + `"}`)
		if d, _ := v.waitFor("delivery", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatDelivery" }); d["reason"] != "too-long" {
			t.Errorf("too long: %v", d)
		}
		v.send(`{"mt":"ChatClose"}`)
		v.waitFor("ended", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatEnded" })
		v.send(`{"mt":"ChatOpen","dest":"carol","dn":"Olga"}`)
		if e, _ := v.waitFor("refused", updateLimit, func(m map[string]any) bool { return m["mt"] == "Error" }); e["code"] != "medium-not-allowed" {
			t.Errorf("chat with a voice-only agent: %v", e)
		}

		for _, tc := range []struct {
			scenario, reason string
		}{{"message-reject.xml", "rejected"}, {"message-silent.xml", "timeout"}} {
			// Two MESSAGEs: the new-chat notice, and the notice again before
			// the visitor's text (texts follow an accepted notice only).
			uas := startSipp(t, tc.scenario, "-m", "2")
			if err := tb.Register(ctx, "rex", "rex-pw", uas.addr(), 60); err != nil {
				t.Fatal(err)
			}
			v.send(`{"mt":"ChatOpen","dest":"rex","dn":"Olga"}`)
			v.waitFor("opened", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatOpened" })
			v.send(`{"mt":"ChatSend","id":"r1","text":"hello rex"}`)
			d, _ := v.waitFor("delivery", 10*time.Second, func(m map[string]any) bool { return m["mt"] == "ChatDelivery" && m["id"] == "r1" })
			if d["state"] != "failed" || d["reason"] != tc.reason {
				t.Errorf("%s: delivery %v, want failed/%s", tc.scenario, d, tc.reason)
			}
			if err := uas.wait(t, 20*time.Second); err != nil && tc.scenario == "message-reject.xml" {
				t.Errorf("sipp %s: %v", tc.scenario, err)
			}
			v.send(`{"mt":"ChatClose"}`)
			v.waitFor("ended", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatEnded" })
			if err := tb.Register(ctx, "rex", "rex-pw", uas.addr(), 0); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("grace period ends: the agent is told", func(t *testing.T) {
		vera.conn.Close()
		waitAgentMessage(t, tb.Agent("alice"), "left")
		back := gw.visit(e2eOrigin)
		back.start(chatWidget)
		back.send(`{"mt":"ChatResume","token":"` + token + `"}`)
		if e := back.next(updateLimit); e["mt"] != "Error" || e["code"] != "chat-expired" {
			t.Errorf("resume after the grace period: %v", e)
		}
	})

	t.Run("leave a message", func(t *testing.T) {
		v := gw.visit(e2eOrigin)
		session, _ := v.start(chatWidget)
		if session["leaveMessage"] != true {
			t.Errorf("Session does not offer leaveMessage: %v", session)
		}
		v.send(`{"mt":"LeaveMessage","id":"l1","name":"Nora","contact":"nora@example.com","text":"Please call me back"}`)
		if m, _ := v.waitFor("left", 15*time.Second, func(m map[string]any) bool { return m["mt"] == "MessageLeft" }); m["ok"] != true {
			t.Fatalf("got %v", m)
		}
		got := waitAgentMessage(t, tb.Agent("bob"), "Please call me back")
		if !strings.Contains(got.Body, "nora@example.com") {
			t.Errorf("the fallback got %q without the contact", got.Body)
		}
	})
}

// waitAgentMessage waits until the agent received a MESSAGE whose body
// contains text.
func waitAgentMessage(t *testing.T, a *testbed.Agent, text string) testbed.ReceivedMessage {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, err := a.ReceivedMessages()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if strings.Contains(m.Body, text) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s got no MESSAGE containing %q (has %d messages)", a.Name(), text, len(msgs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestChatSubaddressRouting: with reply_routing subaddress two visitors chat
// with the same agent at once; the agent answers each from its client by
// replying to the address the message came from (frontdesk+<chat>), which the
// PBX routes to the gateway; every reply reaches its own visitor only.
func TestChatSubaddressRouting(t *testing.T) {
	if err := testbed.CheckBinaries(true); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	ctx := ctxT(t, 3*time.Minute)
	tb, err := testbed.Start(ctx, testbed.Options{
		Dir:    t.TempDir(),
		Users:  []testbed.User{{Name: "frontdesk", Password: gwPassword}},
		Agents: []testbed.AgentSpec{{Name: "alice", Password: "alice-pw", Presence: "online"}},
		Log:    slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() { _ = tb.Close() })
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	cfg := strings.Replace(chatConfig(tb.Addr()), "chat:\n", "chat:\n  reply_routing: subaddress\n  max_per_agent: 2\n", 1)
	cfgPath := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, cfgPath, cfg)
	gw := startGateway(t, cfgPath)
	gw.waitHealth("registered", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })

	visitors := map[string]*visitor{}
	for _, name := range []string{"Ann", "Ben"} {
		v := gw.visit(e2eOrigin)
		if _, infos := v.start(chatWidget); infos["alice"]["presence"] != "online" {
			v.waitFor("alice online", updateLimit, infoOf("alice", "online"))
		}
		v.send(`{"mt":"ChatOpen","dest":"alice","dn":"` + name + `"}`)
		v.waitFor(name+"'s chat", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatOpened" })
		v.send(`{"mt":"ChatSend","id":"1","text":"I am ` + name + `"}`)
		v.waitFor(name+"'s delivery", updateLimit, func(m map[string]any) bool {
			return m["mt"] == "ChatDelivery" && m["state"] == "delivered"
		})
		visitors[name] = v
	}
	for _, name := range []string{"Ben", "Ann"} {
		got := waitAgentMessage(t, tb.Agent("alice"), "I am "+name)
		user := subaddressUser(got.From)
		if !strings.HasPrefix(user, "frontdesk+") {
			t.Fatalf("From %q has no per-chat address", got.From)
		}
		code, err := tb.SendMessageAs(ctx, "alice", "alice-pw", user, "text/plain;charset=UTF-8", []byte("Hello "+name))
		if err != nil || code != 200 {
			t.Fatalf("reply to %s: %d, %v", user, code, err)
		}
	}
	for name, v := range visitors {
		m, _ := v.waitFor(name+"'s reply", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatMessage" })
		if m["text"] != "Hello "+name {
			t.Errorf("%s got %q", name, m["text"])
		}
		v.quiet(name+" gets no other reply", 300*time.Millisecond, func(m map[string]any) bool { return m["mt"] == "ChatMessage" })
	}
}

// subaddressUser extracts the user part of the URI in a From header value.
func subaddressUser(from string) string {
	i := strings.Index(from, "sip:")
	if i < 0 {
		return ""
	}
	rest := from[i+4:]
	if j := strings.IndexByte(rest, '@'); j >= 0 {
		return rest[:j]
	}
	return ""
}
