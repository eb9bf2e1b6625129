package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/frontdesk-gw/frontdesk/cluster"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// newClusterEngine builds the cluster engine when the config has a cluster
// section; nil otherwise (a single node needs no engine).
func (g *gateway) newClusterEngine(cfg *config.Config) error {
	if cfg.Cluster == nil {
		return nil
	}
	e, err := cluster.New(cluster.Options{
		Config:     *cfg.Cluster,
		ConfigHash: cfg.SharedHash(),
		Logger:     g.log.With("component", "cluster"),
		UA:         g.ua,
		Store:      g.store,
		Hub:        g.hub,
	})
	if err != nil {
		return fmt.Errorf("create cluster engine: %w", err)
	}
	g.cluster = e
	g.log.Info("cluster mode", "node", e.Node(), "servers", cfg.Cluster.URLs, "lease_ttl", cfg.Cluster.LeaseTTL)
	return nil
}

// subscribe hands the subscriptions cfg needs to the UA, or in a cluster
// to the engine, which decides which node makes each.
func (g *gateway) subscribe(cfg *config.Config) {
	if g.cluster != nil {
		g.cluster.SetConfigHash(cfg.SharedHash())
		g.cluster.SetTargets(targets(cfg))
		return
	}
	g.ua.SetSubscriptions(targets(cfg))
}

// keepsRemoved reports whether a subscription the UA dropped keeps its
// state: in a cluster the UA drops a target when another node takes its
// lease, and that node's reports keep the state current.
func (g *gateway) keepsRemoved(t sip.Target, err error) bool {
	if g.cluster == nil || !errors.Is(err, sip.ErrSubscriptionRemoved) {
		return false
	}
	for _, w := range targets(g.cfg.Load()) {
		if w == t {
			return true
		}
	}
	return false
}

// runCluster runs the engine until ctx ends (nothing without a cluster).
func (g *gateway) runCluster(ctx context.Context) {
	if g.cluster == nil {
		return
	}
	if err := g.cluster.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		g.log.Error("cluster engine stopped", "err", err)
	}
}

// handOver gives this node's subscription leases to the other nodes
// (before draining and stopping), bounded.
func (g *gateway) handOver(ctx context.Context) {
	if g.cluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	g.cluster.Handover(ctx)
}

// releaseChats hands this node's chats to the cluster before it stops:
// other nodes go on with them when their visitors come back, and the
// agents are told nothing. Alone, or with the engine out of reach, chats
// end as on a single node.
func (g *gateway) releaseChats() {
	if g.cluster == nil || !g.cluster.Status().Connected {
		return
	}
	if n := g.chat.ReleaseAll(); n > 0 {
		g.log.Info("chats handed to the cluster", "chats", n)
	}
}

// clusterHealth adds the cluster's state and warnings to h.
func (g *gateway) clusterHealth(h *health) {
	if g.cluster == nil {
		return
	}
	st := g.cluster.Status()
	h.Cluster = &st
	if !st.Connected {
		since := "start"
		if !st.LostAt.IsZero() {
			since = st.LostAt.UTC().Format(time.RFC3339)
		}
		w := "cluster: the engine (NATS) is out of reach since " + since + "; this node serves on its own"
		if st.Standalone {
			w += " and subscribes to every agent itself"
		}
		h.Warnings = append(h.Warnings, w)
	}
	if len(st.ConfigMismatch) > 0 {
		h.Warnings = append(h.Warnings, "cluster: the config differs on nodes "+strings.Join(st.ConfigMismatch, ", ")+
			"; every node must read the same file")
	}
}

// clusterMetrics registers the cluster's gauges.
func (g *gateway) clusterMetrics(r *prometheus.Registry) {
	if g.cluster == nil {
		return
	}
	gauge := func(name, help string, f func(cluster.Status) float64) {
		r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return f(g.cluster.Status()) }))
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	gauge("frontdesk_cluster_connected", "1 while the cluster engine (NATS JetStream) is reached.",
		func(s cluster.Status) float64 { return b2f(s.Connected) })
	gauge("frontdesk_cluster_standalone", "1 while the engine has been out of reach longer than the lease and this node subscribes to every agent itself.",
		func(s cluster.Status) float64 { return b2f(s.Standalone) })
	gauge("frontdesk_cluster_nodes", "Live nodes seen, this one included.",
		func(s cluster.Status) float64 { return float64(s.Nodes) })
	gauge("frontdesk_cluster_leases", "Subscription leases this node holds.",
		func(s cluster.Status) float64 { return float64(s.Leases) })
	gauge("frontdesk_cluster_config_mismatch", "Live nodes whose config differs from this node's.",
		func(s cluster.Status) float64 { return float64(len(s.ConfigMismatch)) })
	r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "frontdesk_cluster_disconnects_total", Help: "Times the cluster engine went out of reach.",
	}, func() float64 { return float64(g.cluster.Status().Disconnects) }))
}

// clusterDialer places a call with the UA and, once it is answered,
// records its dialog with the call's slot in the engine, so that another
// node can end it with BYE if this one dies.
type clusterDialer struct {
	ua      *sip.UA
	cluster *cluster.Engine
	session string
}

func (d clusterDialer) Call(ctx context.Context, req sip.CallRequest, ev sip.CallEvents) (*sip.Leg, error) {
	rec := &dialogRecorder{CallEvents: ev, cluster: d.cluster, session: d.session, placed: make(chan struct{})}
	leg, err := d.ua.Call(ctx, req, rec)
	rec.leg = leg
	close(rec.placed)
	return leg, err
}

// dialogRecorder passes a leg's events on and records its dialog when it
// is answered.
type dialogRecorder struct {
	sip.CallEvents
	cluster *cluster.Engine
	session string
	leg     *sip.Leg      // set before placed is closed
	placed  chan struct{} // closed once Call returned
}

func (r *dialogRecorder) Answered(sdp []byte) {
	r.CallEvents.Answered(sdp)
	// Events run on the leg's goroutine and must return at once; Call may
	// not have returned the leg yet.
	go func() {
		select {
		case <-r.placed:
		case <-time.After(5 * time.Second):
			return
		}
		if r.leg == nil {
			return
		}
		if dlg, ok := r.leg.Dialog(); ok {
			r.cluster.RecordCall(r.session, dlg)
		}
	}()
}
