package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Defaults of the calls and chat sections.
const (
	DefaultWebRTCPorts       = "40000-40999"
	DefaultRTPPorts          = "30000-30999"
	DefaultRTPTimeout        = 30 * time.Second
	DefaultRingTimeout       = 60 * time.Second
	DefaultMaxCalls          = 100
	DefaultMaxCallsPerAgent  = 1
	DefaultChatMessageLength = 2000
	DefaultChatPerMinute     = 20
	DefaultChatPerAgent      = 1
	DefaultResumeGrace       = 2 * time.Minute
	DefaultReattachGrace     = 30 * time.Second
	// maxReattachGrace bounds how long a call's SIP leg waits for a page:
	// the agent hears silence meanwhile.
	maxReattachGrace       = 5 * time.Minute
	DefaultChatSendTimeout = 10 * time.Second
	DefaultChatHandover    = 15 * time.Second
	DefaultWebhookTimeout  = 10 * time.Second
	DefaultWebhookAttempts = 5
)

// PortRange parses "min-max" (inclusive, 1024..65535, at least 2 ports: RTP
// wants even/odd pairs).
func PortRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a port range such as 30000-30999", s)
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("%q is not a port range such as 30000-30999", s)
	case lo < 1024 || hi > 65535:
		return 0, 0, fmt.Errorf("port range %q must lie within 1024-65535", s)
	case hi-lo < 1:
		return 0, 0, fmt.Errorf("port range %q needs at least two ports", s)
	}
	return lo, hi, nil
}

func (v *validator) calls(c *Calls) {
	const path = "calls"
	ranges := []struct {
		key string
		val *string
		def string
	}{{"webrtc_ports", &c.WebRTCPorts, DefaultWebRTCPorts}, {"rtp_ports", &c.RTPPorts, DefaultRTPPorts}}
	for _, r := range ranges {
		if *r.val == "" {
			*r.val = r.def
		}
		if _, _, err := PortRange(*r.val); err != nil {
			v.p.errf(path+"."+r.key, "%v", err)
		}
	}
	if lo1, hi1, err1 := PortRange(c.WebRTCPorts); err1 == nil {
		if lo2, hi2, err2 := PortRange(c.RTPPorts); err2 == nil && lo1 <= hi2 && lo2 <= hi1 {
			v.p.errf(path+".rtp_ports", "%s overlaps webrtc_ports %s", c.RTPPorts, c.WebRTCPorts)
		}
	}
	for key, val := range map[string]string{"rtp_address": c.RTPAddress, "public_ip": c.PublicIP} {
		if val == "" {
			continue
		}
		if _, err := netip.ParseAddr(val); err != nil {
			v.p.errf(path+"."+key, "%q is not an IP address", val)
		}
	}
	for i, ip := range c.WebRTCIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			v.p.errf(indexPath(path+".webrtc_ips", i), "%q is not an IP address", ip)
		}
	}
	for i, n := range c.CandidateNetworks {
		if _, err := ParseAddrOrPrefix(n); err != nil {
			v.p.errf(indexPath(path+".candidate_networks", i), "%v", err)
		}
	}
	switch c.SRTP = strings.ToLower(c.SRTP); c.SRTP {
	case "":
		c.SRTP = "off"
	case "off", "sdes":
	default:
		v.p.errf(path+".srtp", "%s", oneOf(c.SRTP, "off", "sdes"))
	}
	switch c.WebRTCStack = strings.ToLower(c.WebRTCStack); c.WebRTCStack {
	case "":
		c.WebRTCStack = "pion"
	case "pion":
	case "lite":
		if len(c.WebRTCIPs) == 0 {
			v.p.errf(path+".webrtc_stack", "lite needs webrtc_ips: the addresses its sockets listen on and announce")
		}
	default:
		v.p.errf(path+".webrtc_stack", "%s", oneOf(c.WebRTCStack, "pion", "lite"))
	}
	v.duration(path+".rtp_timeout", &c.RTPTimeout, DefaultRTPTimeout, 5*time.Second)
	v.duration(path+".ring_timeout", &c.RingTimeout, DefaultRingTimeout, 5*time.Second)
	switch g := c.ReattachGrace; {
	case g == nil:
		d := DefaultReattachGrace
		c.ReattachGrace = &d
	case *g < 0:
		v.p.errf(path+".reattach_grace", "%v is negative", *g)
	case *g > maxReattachGrace:
		v.p.errf(path+".reattach_grace", "%v is longer than %v", *g, maxReattachGrace)
	}
	v.count(path+".max_calls", &c.MaxCalls, DefaultMaxCalls)
	v.count(path+".max_calls_per_agent", &c.MaxCallsPerAgent, DefaultMaxCallsPerAgent)
}

func (v *validator) chat(c *Chat) {
	const path = "chat"
	v.count(path+".max_message_length", &c.MaxMessageLength, DefaultChatMessageLength)
	v.count(path+".messages_per_minute", &c.MessagesPerMinute, DefaultChatPerMinute)
	v.count(path+".max_per_agent", &c.MaxPerAgent, DefaultChatPerAgent)
	v.duration(path+".resume_grace", &c.ResumeGrace, DefaultResumeGrace, 0)
	v.duration(path+".send_timeout", &c.SendTimeout, DefaultChatSendTimeout, time.Second)
	v.duration(path+".handover", &c.Handover, DefaultChatHandover, time.Second)
	switch c.ReplyRouting = strings.ToLower(c.ReplyRouting); c.ReplyRouting {
	case "":
		c.ReplyRouting = "agent"
	case "agent":
	case "subaddress":
	default:
		v.p.errf(path+".reply_routing", "%s", oneOf(c.ReplyRouting, "agent", "subaddress"))
	}
	if c.ReplyRouting == "agent" && c.MaxPerAgent > 1 {
		v.p.errf(path+".max_per_agent", "%d needs reply_routing: subaddress; with \"agent\" routing one visitor at a time chats with an agent, or replies could reach the wrong visitor", c.MaxPerAgent)
	}
}

func (v *validator) fallback(path string, f *Fallback, c *Config) {
	if f.SIP == "" && f.Webhook == nil {
		v.p.errf(path, "set sip, webhook or both")
	}
	if f.SIP != "" {
		if uri, _, err := normalizeSIP(f.SIP, c.SIP.Domain); err != nil {
			v.p.errf(path+".sip", "%v", err)
		} else {
			f.URI = uri
		}
	}
	if w := f.Webhook; w != nil {
		wp := path + ".webhook"
		if w.URL == "" {
			v.p.errf(wp+".url", "is required")
		} else if err := checkWebURL(w.URL); err != nil {
			v.p.errf(wp+".url", "%v", err)
		}
		switch {
		case w.Secret != "" && w.SecretEnv != "":
			v.p.errf(wp+".secret", "set only one of secret and secret_env")
		case w.Secret != "":
			w.ResolvedSecret = w.Secret
			v.p.warnf(wp+".secret", "inline secret: prefer secret_env")
		case w.SecretEnv != "":
			w.ResolvedSecret = v.env(wp+".secret_env", w.SecretEnv)
		default:
			v.p.errf(wp, "set secret_env (or secret): receivers verify the signature")
		}
		v.duration(wp+".timeout", &w.Timeout, DefaultWebhookTimeout, time.Second)
		v.count(wp+".attempts", &w.Attempts, DefaultWebhookAttempts)
		if w.Attempts > 20 {
			v.p.errf(wp+".attempts", "%d is more than 20", w.Attempts)
		}
	}
}

// duration defaults a zero duration and rejects negative or too short ones.
func (v *validator) duration(path string, d *time.Duration, def, floor time.Duration) {
	switch {
	case *d == 0:
		*d = def
	case *d < 0:
		v.p.errf(path, "%v is negative", *d)
	case *d < floor:
		v.p.errf(path, "%v is shorter than %v", *d, floor)
	}
}

// count defaults a zero count and rejects negative ones.
func (v *validator) count(path string, n *int, def int) {
	switch {
	case *n == 0:
		*n = def
	case *n < 0:
		v.p.errf(path, "%d is negative", *n)
	}
}
