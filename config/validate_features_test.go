package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const featuresBase = `sip: {registrar: pbx.example.com, username: gw, password: x}
widgets:
  - id: 3f2504e04f8941d39a0c0305e82c3301
    type: cards
    agents: [{sip: alice}]
`

func TestCallsAndChatDefaults(t *testing.T) {
	c, _, err := Parse("f.yaml", []byte(featuresBase), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	grace := DefaultReattachGrace
	want := Calls{ReattachGrace: &grace, WebRTCPorts: DefaultWebRTCPorts, RTPPorts: DefaultRTPPorts, SRTP: "off", WebRTCStack: "pion",
		RTPTimeout: DefaultRTPTimeout, RingTimeout: DefaultRingTimeout, MaxCalls: DefaultMaxCalls, MaxCallsPerAgent: 1}
	if !reflect.DeepEqual(c.Calls, want) {
		t.Errorf("calls = %+v, want %+v", c.Calls, want)
	}
	wantChat := Chat{MaxMessageLength: 2000, MessagesPerMinute: 20, MaxPerAgent: 1, ResumeGrace: 2 * time.Minute,
		ReplyRouting: "agent", SendTimeout: 10 * time.Second, Handover: 15 * time.Second}
	if c.Chat != wantChat {
		t.Errorf("chat = %+v, want %+v", c.Chat, wantChat)
	}
}

func TestReattachGraceOff(t *testing.T) {
	for doc, want := range map[string]time.Duration{"": DefaultReattachGrace, "calls: {reattach_grace: 0s}\n": 0, "calls: {reattach_grace: 45s}\n": 45 * time.Second} {
		c, _, err := Parse("f.yaml", []byte(featuresBase+doc), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Calls.Reattach(); got != want {
			t.Errorf("%q: reattach grace = %v, want %v", doc, got, want)
		}
	}
}

func TestCallsChatFallbackProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml string // appended to featuresBase (top level) unless it starts with "    " (widget level)
		want string
	}{
		{name: "bad range", yaml: "calls: {rtp_ports: 30000}\n", want: "f.yaml:6: calls.rtp_ports: \"30000\" is not a port range"},
		{name: "overlap", yaml: "calls: {rtp_ports: 40000-40100}\n", want: "overlaps webrtc_ports"},
		{name: "privileged ports", yaml: "calls: {webrtc_ports: 80-90}\n", want: "must lie within 1024-65535"},
		{name: "srtp", yaml: "calls: {srtp: dtls}\n", want: "calls.srtp: \"dtls\" is not one of off, sdes"},
		{name: "public ip", yaml: "calls: {public_ip: gw.example.com}\n", want: "calls.public_ip: \"gw.example.com\" is not an IP address"},
		{name: "webrtc ips", yaml: "calls: {webrtc_ips: [127.0.0.1, localhost]}\n", want: "calls.webrtc_ips[1]: \"localhost\" is not an IP address"},
		{name: "webrtc stack", yaml: "calls: {webrtc_stack: ortc}\n", want: "calls.webrtc_stack: \"ortc\" is not one of pion, lite"},
		{name: "lite needs ips", yaml: "calls: {webrtc_stack: lite}\n", want: "calls.webrtc_stack: lite needs webrtc_ips"},
		{name: "candidate networks", yaml: "calls: {candidate_networks: [127.0.0.0/8, 10.0.0.0/33, lan]}\n", want: "calls.candidate_networks[1]: \"10.0.0.0/33\" is not an IP address or CIDR"},
		{name: "short timeout", yaml: "calls: {rtp_timeout: 1s}\n", want: "calls.rtp_timeout: 1s is shorter than 5s"},
		{name: "negative reattach", yaml: "calls: {reattach_grace: -1s}\n", want: "calls.reattach_grace: -1s is negative"},
		{name: "long reattach", yaml: "calls: {reattach_grace: 10m}\n", want: "calls.reattach_grace: 10m0s is longer than 5m0s"},
		{name: "negative calls", yaml: "calls: {max_calls: -1}\n", want: "calls.max_calls: -1 is negative"},
		{name: "routing", yaml: "chat: {reply_routing: guess}\n", want: "chat.reply_routing: \"guess\" is not one of agent, subaddress"},
		{name: "several chats need subaddress", yaml: "chat: {max_per_agent: 3}\n", want: "needs reply_routing: subaddress"},
		{name: "empty fallback", yaml: "    fallback: {}\n", want: "widgets[0].fallback: set sip, webhook or both"},
		{name: "webhook url", yaml: "    fallback: {webhook: {url: ftp://x, secret_env: HOME}}\n", want: "widgets[0].fallback.webhook.url"},
		{name: "webhook secret", yaml: "    fallback: {webhook: {url: https://crm.example.com/h}}\n", want: "fallback.webhook: set secret_env"},
		{name: "webhook env", yaml: "    fallback: {webhook: {url: https://crm.example.com/h, secret_env: FRONTDESK_NO_SUCH_VAR}}\n", want: "environment variable FRONTDESK_NO_SUCH_VAR is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := featuresBase + tt.yaml
			if strings.HasPrefix(tt.yaml, "    ") {
				doc = strings.Replace(featuresBase, "    type: cards\n", "    type: cards\n"+tt.yaml, 1)
			}
			_, _, err := Parse("f.yaml", []byte(doc), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestFallbackNormalized(t *testing.T) {
	doc := strings.Replace(featuresBase, "    type: cards\n", "    type: cards\n    fallback: {sip: inbox}\n", 1)
	c, _, err := Parse("f.yaml", []byte(doc), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Widgets[0].Fallback.URI; got != "sip:inbox@pbx.example.com" {
		t.Errorf("fallback URI = %q", got)
	}
}
