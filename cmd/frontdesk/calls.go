package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/frontdesk-gw/frontdesk/bridge"
	"github.com/frontdesk-gw/frontdesk/cluster"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// callPlacer places calls with the bridge engine over the SIP user agent.
type callPlacer struct {
	engine *bridge.Engine
	dialer bridge.Dialer
	// cluster, when set, records each answered call's dialog (clusterDialer).
	cluster *cluster.Engine
	ua      *sip.UA
}

func (p callPlacer) Connect(ctx context.Context, req bridge.DialRequest, obs bridge.Observer) (*bridge.Connection, error) {
	dialer := p.dialer
	if p.cluster != nil {
		dialer = clusterDialer{ua: p.ua, cluster: p.cluster, session: req.ID}
	}
	return p.engine.Connect(ctx, dialer, req, obs)
}

// rtpHost picks the local address RTP toward the PBX is sent from when
// calls.rtp_address is not set: the SIP listen address, else the local
// address the system routes toward the registrar (found without sending
// anything). Not sip.public_address: behind a NAT that is no address of
// this host; SDP names it instead (calls.PBXMediaIP).
func rtpHost(s config.SIP) (string, error) {
	host := s.Listen
	if h, _, err := net.SplitHostPort(s.Listen); err == nil {
		host = h
	}
	if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
		return a.String(), nil
	}
	target := s.OutboundProxy
	if target == "" {
		target = s.Registrar
	}
	target = strings.TrimPrefix(strings.TrimPrefix(target, "sips:"), "sip:")
	if i := strings.IndexAny(target, ";?"); i >= 0 {
		target = target[:i]
	}
	if _, _, err := net.SplitHostPort(target); err != nil {
		target = net.JoinHostPort(target, "5060")
	}
	// A UDP "connection" only asks the routing table; no packet leaves.
	c, err := net.Dial("udp", target)
	if err != nil {
		return "", fmt.Errorf("find the local address toward %s: %w", target, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}
