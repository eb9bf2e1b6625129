package sip

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip/sipaddr"
)

const (
	defaultRegisterExpiry   = 600 * time.Second
	defaultSubscribeExpiry  = 600 * time.Second
	defaultSubscribeSpacing = time.Second / 50 // sip.subscribe_rate 50/s
	defaultSubscribeBackoff = time.Hour
	defaultRefusedRetry     = time.Hour
)

// settings is config.SIP parsed into what requests are built from.
type settings struct {
	cfg       config.SIP
	transport string  // UDP, TCP or TLS (sipgo's spelling)
	aor       sip.Uri // sip:username@domain
	registrar sip.Uri // where REGISTER and out-of-dialog requests go without a proxy
	proxy     *sip.Uri
	authUser  string
	regExpiry time.Duration
	subExpiry time.Duration
	keepalive time.Duration
	// subSpacing is the least time between two SUBSCRIBEs (subscribe_rate).
	subSpacing    time.Duration
	subBackoffMax time.Duration
	refusedRetry  time.Duration
	// lists are the resource list URIs by event (sip.resource_list).
	lists map[Event]sip.Uri
	// transfer is sip.transfer: which REFERs are honoured.
	transfer transferPolicy
}

func parseSettings(c config.SIP) (settings, error) {
	s := settings{cfg: c, regExpiry: c.RegisterExpiry, subExpiry: c.SubscribeExpiry, authUser: c.AuthUser}
	sips := strings.HasPrefix(strings.ToLower(strings.TrimSpace(c.Registrar)), "sips:")
	switch strings.ToLower(c.Transport) {
	case "":
		s.transport = "UDP"
		if sips {
			s.transport = "TLS"
		}
	case "udp":
		s.transport = "UDP"
	case "tcp":
		s.transport = "TCP"
	case "tls":
		s.transport = "TLS"
	default:
		return s, fmt.Errorf("transport %q: want udp, tcp or tls", c.Transport)
	}
	if c.Username == "" {
		return s, fmt.Errorf("username is empty")
	}
	reg, err := parseHostURI(c.Registrar)
	if err != nil {
		return s, fmt.Errorf("registrar: %w", err)
	}
	s.registrar = reg
	if c.OutboundProxy != "" {
		p, err := parseHostURI(c.OutboundProxy)
		if err != nil {
			return s, fmt.Errorf("outbound proxy: %w", err)
		}
		p.UriParams = sip.HeaderParams{{K: "lr", V: ""}}
		s.proxy = &p
	}
	domain := c.Domain
	if domain == "" {
		domain = reg.Host
	}
	s.aor = sip.Uri{Scheme: "sip", User: c.Username, Host: domain}
	if sips {
		if s.transport != "TLS" {
			return s, fmt.Errorf("registrar %q is a sips: URI: transport must be tls", c.Registrar)
		}
		s.aor.Scheme = "sips"
	}
	if s.authUser == "" {
		s.authUser = c.Username
	}
	if s.regExpiry <= 0 {
		s.regExpiry = defaultRegisterExpiry
	}
	if s.subExpiry <= 0 {
		s.subExpiry = defaultSubscribeExpiry
	}
	if s.keepalive = c.KeepaliveInterval; s.keepalive <= 0 {
		s.keepalive = defaultKeepalive
	}
	s.subSpacing = defaultSubscribeSpacing
	if r := c.SubscribeRate; r.Limited() {
		s.subSpacing = r.Per / time.Duration(r.Count)
	}
	if s.subBackoffMax = c.SubscribeBackoffMax; s.subBackoffMax <= 0 {
		s.subBackoffMax = defaultSubscribeBackoff
	}
	if s.refusedRetry = c.RefusedRetry; s.refusedRetry <= 0 {
		s.refusedRetry = defaultRefusedRetry
	}
	s.lists = map[Event]sip.Uri{}
	for ev, v := range map[Event]string{EventPresence: c.ResourceList.Presence, EventDialog: c.ResourceList.Dialog} {
		if v == "" {
			continue
		}
		a, err := sipaddr.ParseUser(v, domain)
		if err != nil {
			return s, fmt.Errorf("resource list for %s: %w", ev, err)
		}
		var uri sip.Uri
		if err := sip.ParseUri(a.String(), &uri); err != nil {
			return s, fmt.Errorf("resource list for %s: %w", ev, err)
		}
		s.lists[ev] = uri
	}
	if s.transfer, err = parseTransferPolicy(c.Transfer.Allow, c.Transfer.Domains, s); err != nil {
		return s, err
	}
	return s, nil
}

// parseHostURI accepts host, host:port or a sip:/sips: URI and keeps only
// scheme, host and port, by the one SIP address rule (sipaddr.ParseServer).
func parseHostURI(v string) (sip.Uri, error) {
	a, err := sipaddr.ParseServer(v)
	if err != nil {
		return sip.Uri{}, fmt.Errorf("parse %q: %w", v, err)
	}
	return sip.Uri{Scheme: a.Scheme, Host: a.Hostname(), Port: a.Port}, nil
}

// hostPort returns the URI's host:port, with the transport's default port.
func hostPort(u sip.Uri, transport string) string {
	port := u.Port
	if port == 0 {
		port = sip.DefaultPort(transport)
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(port))
}

// transportChanges lists the config keys whose change from a to b needs a
// new transport.
func transportChanges(a, b config.SIP) []string {
	var out []string
	if !strings.EqualFold(a.Transport, b.Transport) {
		out = append(out, "sip.transport")
	}
	if a.Listen != b.Listen {
		out = append(out, "sip.listen")
	}
	if a.PublicAddress != b.PublicAddress {
		out = append(out, "sip.public_address")
	}
	for _, k := range []struct {
		key  string
		a, b any
	}{{"sip.tls_insecure", a.TLSInsecure, b.TLSInsecure}, {"sip.tls_ca", a.TLSCA, b.TLSCA},
		{"sip.tls_cert", a.TLSCert, b.TLSCert}, {"sip.tls_key", a.TLSKey, b.TLSKey}} {
		if k.a != k.b {
			out = append(out, k.key)
		}
	}
	return out
}
