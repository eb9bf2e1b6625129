package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// SharedHash is a digest of everything in c that must be the same on every
// node of a cluster: it leaves out what is each node's own (listen and
// public addresses, the node name), secrets and line numbers. Nodes publish
// it so that one running a different config can say so.
func (c *Config) SharedHash() string {
	s := *c
	s.SIP.Listen, s.SIP.PublicAddress, s.SIP.ResolvedPassword = "", "", ""
	s.HTTP.Listen, s.HTTP.PublicURL = "", ""
	s.Admin = Admin{}
	s.Calls.RTPAddress, s.Calls.PublicIP, s.Calls.WebRTCIPs = "", "", nil
	s.ICE.TURN = append([]TURN(nil), c.ICE.TURN...)
	for i := range s.ICE.TURN {
		s.ICE.TURN[i].ResolvedSecret = ""
	}
	s.Widgets = append([]Widget(nil), c.Widgets...)
	for i := range s.Widgets {
		w := &s.Widgets[i]
		w.Line = 0
		w.Agents = append([]Agent(nil), w.Agents...)
		for j := range w.Agents {
			w.Agents[j].Line = 0
		}
		if w.Fallback != nil && w.Fallback.Webhook != nil {
			f, h := *w.Fallback, *w.Fallback.Webhook
			h.ResolvedSecret = ""
			f.Webhook = &h
			w.Fallback = &f
		}
	}
	if c.Cluster != nil {
		cl := *c.Cluster
		cl.Node, cl.ResolvedPassword = "", ""
		s.Cluster = &cl
	}
	s.Source = ""
	data, err := json.Marshal(&s)
	if err != nil {
		return "" // every field of Config marshals; never reached
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}
