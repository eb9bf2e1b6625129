//go:build integration

package e2e

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/internal/testbed"
	"github.com/frontdesk-gw/frontdesk/internal/testca"
)

// SIP over TLS against Kamailio's tls module with a test CA: what the
// gateway sends (REGISTER, SUBSCRIBE, MESSAGE, INVITE) and what the PBX
// sends it (NOTIFY, MESSAGE, re-INVITE, BYE) over TLS, the PBX's
// certificate checked, a client certificate where the PBX asks for one.

// sipPKI is a test CA with Kamailio's and the gateway's certificates, the
// gateway's as files.
type sipPKI struct {
	t   *testing.T
	ca  *testca.CA
	dir string
	// kam is Kamailio's certificate.
	kam *testca.Issued
	// caFile, gwCert and gwKey are the CA and the gateway's certificate
	// (for 127.0.0.1, good for clients too) and key.
	caFile, gwCert, gwKey string
}

// newSIPPKI issues Kamailio a certificate for kamNames.
func newSIPPKI(t *testing.T, name string, kamNames ...string) *sipPKI {
	t.Helper()
	ca, err := testca.New(name)
	if err != nil {
		t.Fatal(err)
	}
	p := &sipPKI{t: t, ca: ca, dir: t.TempDir()}
	p.kam = p.issue(testca.Leaf{Names: kamNames})
	gw := p.issue(testca.Leaf{Names: []string{"127.0.0.1"}, ClientAuth: true})
	p.caFile = p.file("ca.pem", ca.PEM)
	p.gwCert, p.gwKey = p.file("gw-cert.pem", gw.CertPEM), p.file("gw-key.pem", gw.KeyPEM)
	return p
}

func (p *sipPKI) issue(leaf testca.Leaf) *testca.Issued {
	p.t.Helper()
	c, err := p.ca.Issue(leaf)
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

func (p *sipPKI) file(name string, data []byte) string {
	p.t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// testbedTLS is the test bed's TLS listener with Kamailio's certificate,
// trusting this CA (for the gateway's listener, and for client
// certificates when verifyClient).
func (p *sipPKI) testbedTLS(verifyClient bool) *testbed.TLS {
	return &testbed.TLS{CertPEM: p.kam.CertPEM, KeyPEM: p.kam.KeyPEM, CAPEM: p.ca.PEM, VerifyClient: verifyClient}
}

// gatewayKeys are the sip keys of a gateway trusting this CA, with its
// certificate.
func (p *sipPKI) gatewayKeys() string {
	return fmt.Sprintf("  transport: tls\n  tls_ca: %s\n  tls_cert: %s\n  tls_key: %s\n", p.caFile, p.gwCert, p.gwKey)
}

// withSIPKeys adds keys (lines of the sip section) to a config made by
// gatewayHeadWith or chatConfig.
func withSIPKeys(t *testing.T, cfg, keys string) string {
	t.Helper()
	const anchor = "  trusted_sources: [127.0.0.1]\n"
	if !strings.Contains(cfg, anchor) {
		t.Fatal("config has no trusted_sources line to add sip keys after")
	}
	return strings.Replace(cfg, anchor, anchor+keys, 1)
}

// startTLSTestbed starts Kamailio listening for TLS with tlsOpts, the
// gateway's account and agents.
func startTLSTestbed(t *testing.T, tlsOpts *testbed.TLS, agents ...testbed.AgentSpec) *testbed.Testbed {
	t.Helper()
	needAgents := len(agents) > 0
	if err := testbed.CheckBinaries(needAgents); err != nil {
		t.Fatalf("test bed unavailable (run testbed/install.sh): %v", err)
	}
	tb, err := testbed.Start(ctxT(t, time.Minute), testbed.Options{
		Dir:    t.TempDir(),
		Users:  []testbed.User{{Name: "frontdesk", Password: gwPassword}},
		Agents: agents,
		TLS:    tlsOpts,
		Log:    slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start test bed: %v", err)
	}
	t.Cleanup(func() {
		_ = tb.Close()
		if t.Failed() {
			t.Logf("--- tail of kamailio.log ---\n%s", cbFileTail(filepath.Join(tb.Dir(), "kamailio.log"), 60))
			for _, a := range tb.Agents() {
				t.Logf("--- tail of %s ---\n%s", a.LogPath(), cbFileTail(a.LogPath(), 40))
			}
		}
	})
	return tb
}

// startTLSGateway runs a gateway with config cfg (and SIP trace).
func startTLSGateway(t *testing.T, cfg string) *gatewayProc {
	t.Helper()
	t.Setenv("FD_E2E_PASSWORD", gwPassword)
	path := filepath.Join(t.TempDir(), "frontdesk.yaml")
	writeConfig(t, path, cfg)
	return startGateway(t, path, "--sip-trace")
}

// traced waits (bounded) for a SIP trace record in direction dir
// ("in"/"out") whose message starts with prefix, and returns its transport
// and text.
func (g *gatewayProc) traced(t *testing.T, dir, prefix string) (transport, text string) {
	t.Helper()
	deadline := time.Now().Add(updateLimit)
	for {
		for _, m := range g.logLines() {
			msg, _ := m["sip"].(string)
			if m["msg"] == "sip trace" && m["dir"] == dir && strings.HasPrefix(msg, prefix) {
				tp, _ := m["transport"].(string)
				return tp, msg
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s SIP message starting with %q in the gateway's trace within %v", dir, prefix, updateLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sipError is /healthz's sip.error.
func sipError(h map[string]any) string {
	s, _ := h["sip"].(map[string]any)
	e, _ := s["error"].(string)
	return e
}

// TestSIPOverTLS: the gateway registers to a sips: registrar on Kamailio's
// TLS port with the test CA and its own certificate (its address and
// Contact sips: URIs, the agent's a sip: one), and every leg goes over
// TLS: REGISTER, SUBSCRIBE and the NOTIFYs (an agent's presence
// shown), chat MESSAGEs both ways, and a call with SDES-SRTP to a baresip
// phone (Kamailio to the phone over UDP) with audio both ways, hung up by
// the phone; a sipp phone puts a call on hold and back. The PBX's NOTIFY,
// MESSAGE, re-INVITE and BYE reach the gateway over TLS, on connections
// Kamailio opens to the gateway's TLS listener after verifying its
// certificate.
func TestSIPOverTLS(t *testing.T) {
	pki := newSIPPKI(t, "Frontdesk SIP test CA", "127.0.0.1")
	tb := startTLSTestbed(t, pki.testbedTLS(false),
		testbed.AgentSpec{Name: "alice", Password: "alice-pw", Presence: "online", AnswerCalls: true, SRTP: true, Record: true})
	alice := tb.Agent("alice")
	cfg := gatewayHeadWith("sips:"+tb.TLSAddr(), e2eOrigin, "  srtp: sdes\n", "") +
		fmt.Sprintf("widgets:\n  - id: %s\n    type: cards\n    agents:\n      - {id: alice, sip: alice, media: [voice, chat]}\n", callWidget)
	gw := startTLSGateway(t, withSIPKeys(t, cfg, pki.gatewayKeys()))
	gw.waitHealth("registered", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })
	ctx := ctxT(t, 3*time.Minute)

	for _, out := range []string{"REGISTER sips:frontdesk.test", "SUBSCRIBE sip:alice@frontdesk.test"} {
		if tp, _ := gw.traced(t, "out", out); tp != "TLS" {
			t.Errorf("%s went over %q, want TLS", out, tp)
		}
	}

	v := gw.visit(e2eOrigin)
	if _, infos := v.start(callWidget); infos["alice"]["presence"] != "online" {
		v.waitFor("alice online", updateLimit, infoOf("alice", "online"))
	}
	t.Run("presence", func(t *testing.T) {
		if err := alice.SetPresence(ctx, testbed.StatusBusy); err != nil {
			t.Fatal(err)
		}
		_, took := v.waitFor("alice busy", updateLimit, infoOf("alice", "busy"))
		t.Logf("busy shown %v after the PUBLISH", took.Round(time.Millisecond))
		// The subscription's refreshes go to the NOTIFY's Contact: it must
		// name Kamailio's TLS port.
		if tp, text := gw.traced(t, "in", "NOTIFY sips:frontdesk@"); tp != "TLS" || !strings.Contains(text, "Contact: <sip:"+tb.TLSAddr()+";transport=tls>") {
			t.Errorf("NOTIFY came over %q; want TLS, with a Contact of Kamailio's TLS address %s:\n%s", tp, tb.TLSAddr(), text)
		}
		if err := alice.SetPresence(ctx, testbed.StatusOnline); err != nil {
			t.Fatal(err)
		}
		v.waitFor("alice online again", updateLimit, infoOf("alice", "online"))
	})

	t.Run("chat both ways", func(t *testing.T) {
		v.send(`{"mt":"ChatOpen","dest":"alice","dn":"Vera"}`)
		v.waitFor("chat opened", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatOpened" })
		v.send(`{"mt":"ChatSend","id":"c1","text":"Is my order on its way?"}`)
		if d, _ := v.waitFor("delivery", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatDelivery" }); d["state"] != "delivered" {
			t.Fatalf("delivery = %v", d)
		}
		waitAgentMessage(t, alice, "Is my order on its way?")
		if tp, _ := gw.traced(t, "out", "MESSAGE sip:alice@frontdesk.test"); tp != "TLS" {
			t.Errorf("the visitor's MESSAGE went over %q, want TLS", tp)
		}
		gw.waitLog(t, "alice's new-chat notice accepted", func(l map[string]any) bool {
			return l["msg"] == "chat notice accepted" && l["agent"] == "alice@frontdesk.test"
		})
		if err := alice.SendMessage(ctx, "It left this morning"); err != nil {
			t.Fatal(err)
		}
		if m, _ := v.waitFor("agent's reply", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatMessage" }); m["text"] != "It left this morning" {
			t.Errorf("got %v", m)
		}
		if tp, _ := gw.traced(t, "in", "MESSAGE sip"); tp != "TLS" {
			t.Errorf("the agent's MESSAGE came over %q, want TLS", tp)
		}
		v.send(`{"mt":"ChatClose"}`)
	})

	t.Run("call with SDES-SRTP", func(t *testing.T) {
		e := &callEnv{tb: tb, gw: gw, ctx: ctx}
		p := e.phone(t, phoneOptions{ToneHz: cbMicHz})
		p.dial("alice", false)
		p.expectAnswer(callWait)
		p.waitMedia()
		_, invite := gw.traced(t, "out", "INVITE sip:alice@frontdesk.test")
		if tp, _ := gw.traced(t, "out", "INVITE sip:alice@frontdesk.test"); tp != "TLS" || !strings.Contains(invite, "RTP/SAVP") || !strings.Contains(invite, "a=crypto:") {
			t.Errorf("the INVITE went over %q; want TLS with an SDES offer:\n%s", tp, invite)
		}
		p.waitCount("the agent's audio", &p.received, 100, 10*time.Second)
		if lvl := p.toneLevel(cbValerieHz); lvl < 0.5 {
			t.Errorf("the visitor hears %.2f of the energy at the agent's %v Hz", lvl, cbValerieHz)
		}
		rec := cbNewRecording(t, alice, nil)
		cbWaitRecordingHears(t, alice, rec, cbMicHz)

		if err := alice.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		p.expectEnd("ended-by-agent", callWait)
		if tp, _ := gw.traced(t, "in", "BYE sips:frontdesk@"); tp != "TLS" {
			t.Errorf("the phone's BYE came over %q, want TLS", tp)
		}
		e.noCallsLeft(t)
	})

	// baresip 1.0.0 cannot put an SRTP call on hold ("Function not
	// implemented"), so a sipp phone does, on a gateway without SDES.
	t.Run("hold and resume by the agent", func(t *testing.T) {
		e := startMediaEnvOn(t, []string{"hold"}, nil, "", "", pki)
		a := e.sippAgent(t, "hold", "call-hold.xml", true)
		p := e.phone(t, phoneOptions{})
		p.dial("hold", false)
		p.expect("connected", callWait)
		p.waitMedia()
		p.expect("held", callWait)
		p.expect("connected", callWait)
		if tp, text := e.gw.traced(t, "in", "INVITE sip:frontdesk@"); tp != "TLS" || !strings.Contains(text, "a=sendonly") {
			t.Errorf("the phone's re-INVITE came over %q, want TLS with a hold offer:\n%s", tp, text)
		}
		before := p.echoed.Load()
		p.waitCount("audio after resume", &p.echoed, before+25, 5*time.Second)
		p.hangUp()
		p.expectEnd("ended-by-visitor", callWait)
		a.done(t)
		e.noCallsLeft(t)
	})
}

// TestSIPTLSRefusesThePBX: a PBX whose certificate is issued by a CA the
// gateway does not trust, or does not hold the name the registrar is
// given by, is refused: /healthz is degraded and says what to change. The
// same Kamailio is accepted when the registrar names it as its
// certificate does.
func TestSIPTLSRefusesThePBX(t *testing.T) {
	pki := newSIPPKI(t, "Frontdesk SIP test CA", "localhost")
	other := newSIPPKI(t, "Another CA", "localhost")
	tb := startTLSTestbed(t, pki.testbedTLS(false))
	port := tb.TLSAddr()[strings.LastIndex(tb.TLSAddr(), ":")+1:]
	for _, tc := range []struct {
		name, registrar, keys, want string
	}{
		{name: "another CA", registrar: "localhost:" + port, keys: other.gatewayKeys(),
			want: `is not signed by a CA the gateway trusts (sip.tls_ca ` + other.caFile + `): set sip.tls_ca to the CA that issued it`},
		{name: "another name", registrar: "127.0.0.1:" + port, keys: pki.gatewayKeys(),
			want: `the PBX's certificate does not hold the name "127.0.0.1": give sip.registrar (or sip.outbound_proxy) as a name the certificate holds`},
		{name: "the certificate's name", registrar: "localhost:" + port, keys: pki.gatewayKeys()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := startTLSGateway(t, withSIPKeys(t, gatewayHead(tc.registrar, e2eOrigin), tc.keys))
			if tc.want == "" {
				gw.waitHealth("registered", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })
				return
			}
			h := gw.waitHealth("the refusal on /healthz", 20*time.Second, func(code int, h map[string]any) bool {
				return code == 503 && strings.Contains(sipError(h), "TLS to ")
			})
			if e := sipError(h); !strings.Contains(e, tc.want) {
				t.Errorf("/healthz sip.error %q, want %q", e, tc.want)
			}
		})
	}
}

// TestSIPTLSClientCertificate: a Kamailio that verifies clients
// (verify_certificate, require_certificate) takes the gateway with its
// certificate, and the agent's presence reaches it; without a
// certificate, or with one of a CA Kamailio does not trust, /healthz says
// what is wrong.
func TestSIPTLSClientCertificate(t *testing.T) {
	pki := newSIPPKI(t, "Frontdesk SIP test CA", "127.0.0.1")
	stranger := newSIPPKI(t, "Stranger CA", "127.0.0.1")
	tb := startTLSTestbed(t, pki.testbedTLS(true), testbed.AgentSpec{Name: "alice", Password: "alice-pw", Presence: "busy"})
	cfg := gatewayHead(tb.TLSAddr(), e2eOrigin) +
		fmt.Sprintf("widgets:\n  - id: %s\n    type: cards\n    agents:\n      - {id: alice, sip: alice, media: [chat]}\n", chatWidget)
	for _, tc := range []struct {
		name, keys, want string
	}{
		{name: "with the certificate", keys: pki.gatewayKeys()},
		{name: "without", keys: fmt.Sprintf("  transport: tls\n  tls_ca: %s\n", pki.caFile),
			want: "the PBX asks for a client certificate and refused the connection without one: set sip.tls_cert and sip.tls_key"},
		{name: "of another CA", keys: fmt.Sprintf("  transport: tls\n  tls_ca: %s\n  tls_cert: %s\n  tls_key: %s\n", pki.caFile, stranger.gwCert, stranger.gwKey),
			want: "the PBX refused the gateway's client certificate (sip.tls_cert, CN=127.0.0.1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := startTLSGateway(t, withSIPKeys(t, cfg, tc.keys))
			if tc.want == "" {
				gw.waitHealth("registered", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })
				v := gw.visit(e2eOrigin)
				if _, infos := v.start(chatWidget); infos["alice"]["presence"] != "busy" {
					v.waitFor("alice busy", updateLimit, infoOf("alice", "busy"))
				}
				return
			}
			h := gw.waitHealth("the refusal on /healthz", 20*time.Second, func(code int, h map[string]any) bool {
				return code == 503 && strings.Contains(sipError(h), "TLS to ")
			})
			if e := sipError(h); !strings.Contains(e, tc.want) {
				t.Errorf("/healthz sip.error %q, want %q", e, tc.want)
			}
		})
	}
}

// TestSIPTLSWithoutListener: without sip.tls_cert the gateway does not
// listen for TLS (its Contact names no port); a PBX that sends to such a
// client over the client's own connection (Kamailio with nathelper's
// fix_nated_contact, as for phones behind NAT) still gets the agent's
// presence NOTIFYs and chat replies to it, over the connection the
// gateway opened.
func TestSIPTLSWithoutListener(t *testing.T) {
	pki := newSIPPKI(t, "Frontdesk SIP test CA", "127.0.0.1")
	tlsOpts := pki.testbedTLS(false)
	tlsOpts.RewriteContacts = true
	tb := startTLSTestbed(t, tlsOpts, testbed.AgentSpec{Name: "alice", Password: "alice-pw", Presence: "online"})
	cfg := gatewayHead(tb.TLSAddr(), e2eOrigin) +
		fmt.Sprintf("widgets:\n  - id: %s\n    type: cards\n    agents:\n      - {id: alice, sip: alice, media: [chat]}\n", chatWidget)
	gw := startTLSGateway(t, withSIPKeys(t, cfg, fmt.Sprintf("  transport: tls\n  tls_ca: %s\n", pki.caFile)))
	gw.waitHealth("registered", 20*time.Second, func(code int, h map[string]any) bool { return code == 200 })
	ctx := ctxT(t, time.Minute)

	_, register := gw.traced(t, "out", "REGISTER sip:frontdesk.test")
	if !strings.Contains(register, "Contact: <sip:frontdesk@127.0.0.1;transport=tls>") {
		t.Errorf("REGISTER of a gateway that does not listen:\n%s\nwant a Contact without a port", register)
	}
	v := gw.visit(e2eOrigin)
	if _, infos := v.start(chatWidget); infos["alice"]["presence"] != "online" {
		v.waitFor("alice online", updateLimit, infoOf("alice", "online"))
	}
	if err := tb.Agent("alice").SetPresence(ctx, testbed.StatusBusy); err != nil {
		t.Fatal(err)
	}
	v.waitFor("alice busy", updateLimit, infoOf("alice", "busy"))
	if err := tb.Agent("alice").SetPresence(ctx, testbed.StatusOnline); err != nil {
		t.Fatal(err)
	}
	v.waitFor("alice online again", updateLimit, infoOf("alice", "online"))
	v.send(`{"mt":"ChatOpen","dest":"alice","dn":"Vera"}`)
	v.waitFor("chat opened", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatOpened" })
	// The agent's replies count once the agent's phone has the new-chat
	// notice (a MESSAGE over the gateway's connection too).
	gw.waitLog(t, "alice's new-chat notice accepted", func(l map[string]any) bool {
		return l["msg"] == "chat notice accepted" && l["agent"] == "alice@frontdesk.test"
	})
	if err := tb.Agent("alice").SendMessage(ctx, "Hello from Alice"); err != nil {
		t.Fatal(err)
	}
	if m, _ := v.waitFor("agent's reply", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatMessage" }); m["text"] != "Hello from Alice" {
		t.Errorf("got %v", m)
	}
	for _, in := range []string{"NOTIFY sip:frontdesk@", "MESSAGE sip:frontdesk@"} {
		if tp, _ := gw.traced(t, "in", in); tp != "TLS" {
			t.Errorf("%s came over %q, want TLS", in, tp)
		}
	}
}
