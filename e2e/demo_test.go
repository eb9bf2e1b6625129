//go:build integration

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/testbed"
)

// TestDemoAgentsAllWork runs the demo config (config/default.yaml, what
// `make demo` serves) against the demo PBX (testbed.DemoAgents, what
// `make demo` starts) on free ports, and uses every agent the way a
// newcomer's first clicks do: each agent shown available takes a call and a
// chat, each one that is not is shown so, and leaving a message reaches the
// fallback. An agent in the demo config that the demo PBX lacks fails here.
func TestDemoAgentsAllWork(t *testing.T) {
	if err := testbed.CheckBinaries(true); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	raw, err := os.ReadFile(filepath.Join("..", "config", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	demo, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}

	// The demo PBX, on ports of its own (a demo may run on this machine).
	agents := testbed.DemoAgents()
	presence := map[string]string{}
	for i := range agents {
		agents[i].SIPPort, agents[i].CtrlPort = 0, 0
		presence[agents[i].Name] = agents[i].Presence
	}
	bed, err := testbed.Start(ctxT(t, 90*time.Second), testbed.Options{Dir: t.TempDir(), Users: testbed.DemoUsers(), Agents: agents})
	if err != nil {
		t.Fatalf("start the demo PBX: %v", err)
	}
	t.Cleanup(func() { _ = bed.Close() })
	var daytime string
	for _, u := range testbed.DemoUsers() {
		if u.Name == "daytime" {
			daytime = u.Password
		}
	}
	if err := bed.PublishBoolean(ctxT(t, 10*time.Second), "daytime", daytime, true); err != nil {
		t.Fatal(err)
	}

	// The demo config with only its addresses moved to free loopback ports.
	cfg := string(raw)
	for old, repl := range map[string]string{
		"registrar: 127.0.0.1:15060": "registrar: " + bed.Addr(),
		"listen: 127.0.0.1:15090":    "listen: 127.0.0.1:0",
		"listen: 127.0.0.1:8080":     "listen: 127.0.0.1:0",
		"listen: 127.0.0.1:9480":     "listen: 127.0.0.1:0",
	} {
		if !strings.Contains(cfg, old) {
			t.Fatalf("config/default.yaml lacks %q", old)
		}
		cfg = strings.Replace(cfg, old, repl, 1)
	}
	// Media with the test's visitor stays on loopback.
	cfg += "\ncalls:\n  webrtc_ips: [127.0.0.1]\n"
	path := filepath.Join(t.TempDir(), "demo.yaml")
	writeConfig(t, path, cfg)
	gw := startGateway(t, path)
	subs := 0
	gw.waitHealth("registered", 30*time.Second, func(code int, h map[string]any) bool {
		s, _ := h["sip"].(map[string]any)
		if s == nil {
			return false
		}
		n, _ := s["subscriptions"].(float64)
		subs = int(n)
		return code == 200 && s["registration"] == "registered" && s["active"] == s["subscriptions"] && n > 0
	})
	t.Logf("gateway registered with %d subscriptions active", subs)

	origin := demo.HTTP.PublicURL
	source := 1
	// visit opens a session from an address of its own, so the demo's
	// per-address limits on starting calls and chats do not interfere.
	visit := func() *visitor {
		source++
		return gw.visitFrom(origin, fmt.Sprintf("127.0.0.%d", source))
	}
	for _, w := range demo.Widgets {
		for _, a := range w.Agents {
			user, _, _ := strings.Cut(strings.TrimPrefix(a.SIP, "sip:"), "@")
			want := "online"
			switch a.Mode {
			case config.ModeInactive:
				want = "offline"
			case config.ModePresence:
				want = map[string]string{testbed.StatusOnline: "online", testbed.StatusBusy: "busy"}[presence[user]]
				if want == "" {
					want = "offline"
				}
			}
			name := fmt.Sprintf("%s/%s", w.Name, a.ID)
			t.Run(name, func(t *testing.T) {
				if bed.Agent(user) == nil {
					t.Fatalf("the demo config names agent %q (sip %s), which the demo PBX does not have", a.ID, a.SIP)
				}
				v := visit()
				_, infos := v.start(w.ID)
				info := infos[a.ID]
				if info == nil {
					t.Fatalf("no Info for %s", a.ID)
				}
				if info["presence"] != want {
					// A call just before may still show the agent busy.
					v.waitFor(a.ID+" "+want, 15*time.Second, infoOf(a.ID, want))
				}
				if want != "online" {
					return
				}
				for _, m := range a.Media {
					switch m {
					case config.MediumVoice:
						demoCall(t, visit, w.ID, a.ID)
					case config.MediumChat:
						demoChat(t, visit, w.ID, a.ID)
					}
				}
			})
		}
		if w.Fallback != nil {
			t.Run(w.Name+"/leave a message", func(t *testing.T) {
				v := visit()
				v.start(w.ID)
				v.send(`{"mt":"LeaveMessage","id":"l1","name":"Demo Visitor","contact":"demo@example.com","text":"Please call me back."}`)
				m, _ := v.waitFor("MessageLeft", 20*time.Second, isMT("MessageLeft"))
				if m["ok"] != true {
					t.Errorf("leaving a message failed: %v", m)
				}
			})
		}
	}
}

// demoCall calls agent from a new visitor: the agent's phone answers.
func demoCall(t *testing.T, visit func() *visitor, widgetID, agent string) {
	t.Helper()
	v := visit()
	_, infos := v.start(widgetID)
	if infos[agent]["presence"] != "online" {
		v.waitFor(agent+" online", 15*time.Second, infoOf(agent, "online"))
	}
	p := newPhone(t, v, phoneOptions{})
	p.dial(agent, false)
	for {
		m := p.nextMessage("call to "+agent, 20*time.Second)
		if m["mt"] == "Error" {
			t.Fatalf("call to %s refused: %v", agent, m)
		}
		if m["state"] == "terminated" {
			t.Fatalf("call to %s ended: %v", agent, m)
		}
		if m["state"] == "connected" {
			break
		}
	}
	p.hangUp()
	for {
		if m := p.nextMessage("end of the call to "+agent, 20*time.Second); m["state"] == "terminated" {
			break
		}
	}
}

// demoChat chats with agent from a new visitor: the agent's phone takes the
// message.
func demoChat(t *testing.T, visit func() *visitor, widgetID, agent string) {
	t.Helper()
	v := visit()
	_, infos := v.start(widgetID)
	// The call just before may still show the agent busy: chats go only to
	// an agent shown online.
	if infos[agent]["presence"] != "online" {
		v.waitFor(agent+" online", 15*time.Second, infoOf(agent, "online"))
	}
	v.send(`{"mt":"ChatOpen","dest":"` + agent + `","dn":"Demo Visitor"}`)
	m, _ := v.waitFor("ChatOpened", 20*time.Second, func(m map[string]any) bool { return m["mt"] == "ChatOpened" || m["mt"] == "Error" })
	if m["mt"] == "Error" {
		t.Fatalf("chat with %s refused: %v", agent, m)
	}
	v.send(`{"mt":"ChatSend","id":"c1","text":"Hello from the demo test"}`)
	d, _ := v.waitFor("ChatDelivery", 20*time.Second, isMT("ChatDelivery"))
	if d["state"] != "delivered" {
		t.Errorf("chat message to %s: %v", agent, d)
	}
	v.send(`{"mt":"ChatClose"}`)
	v.waitFor("ChatEnded", 20*time.Second, isMT("ChatEnded"))
}
