package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/frontdesk-gw/frontdesk/bridge"
	"github.com/frontdesk-gw/frontdesk/cluster"
	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
	"github.com/frontdesk-gw/frontdesk/widget"
)

// adminRoutes are the operators' endpoints, served on the admin listener
// only: the visitor port answers 404 for them.
func (g *gateway) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", serveLive)
	mux.HandleFunc("GET /readyz", g.serveReady)
	mux.HandleFunc("GET /healthz", g.serveHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics(), promhttp.HandlerOpts{}))
	g.adminView.Register(mux) // /admin/: asks for its own credentials
	return mux
}

// health is what /healthz reports.
type health struct {
	Status string `json:"status"` // ok, degraded (not ready), draining
	// Warnings are problems that do not stop visitors being served, such
	// as a config edit that was rejected while the last good one serves.
	Warnings []string     `json:"warnings,omitempty"`
	SIP      healthSIP    `json:"sip"`
	Config   healthConfig `json:"config"`
	// Sessions is the number of open widget sessions.
	Sessions int `json:"sessions"`
	// Calls is the number of running calls; CallsEnabled is false when the
	// media bridge could not be set up (see the log).
	Calls        int  `json:"calls"`
	CallsEnabled bool `json:"calls_enabled"`
	// TLS is the visitor port's certificate (absent for plain HTTP).
	TLS *healthTLS `json:"tls,omitempty"`
	// Cluster is the cluster engine's state (cluster mode only).
	Cluster *cluster.Status `json:"cluster,omitempty"`
}

type healthTLS struct {
	Subject  string    `json:"subject"`
	DNSNames []string  `json:"dns_names,omitempty"`
	NotAfter time.Time `json:"not_after"`
	LoadedAt time.Time `json:"loaded_at"`
	// ReloadError is why changed certificate files are not in use.
	ReloadError string `json:"reload_error,omitempty"`
}

type healthSIP struct {
	Registration  sip.RegState `json:"registration"`
	Error         string       `json:"error,omitempty"`
	Subscriptions int          `json:"subscriptions"`
	Active        int          `json:"active"`
	// Degraded lists the agents' subscriptions that fail now, and why.
	Degraded []healthDegraded `json:"degraded,omitempty"`
	// Lists are the resource list subscriptions (sip.resource_list).
	Lists []healthList `json:"lists,omitempty"`
	// TLS is the gateway's own SIP certificate (sip.tls_cert).
	TLS *healthTLS `json:"tls,omitempty"`
}

// healthList is one resource list subscription (sip.ListStatus).
type healthList struct {
	Event   sip.Event `json:"event"`
	URI     string    `json:"uri"`
	State   string    `json:"state"`
	Members int       `json:"members"`
}

func listsOf(st sip.Status) []healthList {
	var out []healthList
	for _, l := range st.Lists {
		out = append(out, healthList{Event: l.Event, URI: l.URI, State: l.State, Members: l.Members})
	}
	return out
}

// healthDegraded is one failing subscription (sip.Degraded).
type healthDegraded struct {
	URI     string    `json:"uri"`
	Event   sip.Event `json:"event"`
	Reason  string    `json:"reason"`
	Error   string    `json:"error"`
	Refused bool      `json:"refused,omitempty"`
	Since   time.Time `json:"since"`
	Retry   time.Time `json:"retry"`
	// Fallback says what the agent's availability rests on meanwhile,
	// for a refusal while the other event package works.
	Fallback string `json:"fallback,omitempty"`
}

func degradedOf(st sip.Status, cfg *config.Config) []healthDegraded {
	failing := map[sip.Target]bool{}
	for _, d := range st.Degraded {
		failing[d.Target] = true
	}
	wanted := map[sip.Target]bool{}
	for _, t := range targets(cfg) {
		wanted[t] = true
	}
	var out []healthDegraded
	for _, d := range st.Degraded {
		h := healthDegraded{URI: d.Target.URI, Event: d.Target.Event, Reason: d.Reason,
			Error: d.Error, Refused: d.Refused, Since: d.Since, Retry: d.Retry}
		other := sip.Target{URI: d.Target.URI, Event: sip.EventDialog}
		if d.Target.Event == sip.EventDialog {
			other.Event = sip.EventPresence
		}
		if d.Refused && wanted[other] && !failing[other] {
			h.Fallback = fallbackOf(d.Target.Event)
		}
		out = append(out, h)
	}
	return out
}

type healthConfig struct {
	Source      string    `json:"source"`
	ReloadedAt  time.Time `json:"reloaded_at,omitzero"`
	ReloadError string    `json:"reload_error,omitempty"`
}

// health reports the gateway's state. Ready means visitors can be served:
// registered to the PBX, a config in force, not draining. A rejected config
// edit is a warning, not a failure: the last good config serves, and a load
// balancer must not drop a working instance for a typo.
func (g *gateway) health() (h health, ready bool) {
	st := g.ua.Status()
	g.mu.Lock()
	h = health{
		Status: "ok",
		SIP: healthSIP{Registration: st.Registration, Error: g.regErr,
			Subscriptions: st.Subscriptions, Active: st.Active, Degraded: degradedOf(st, g.cfg.Load()), Lists: listsOf(st)},
		Config:       healthConfig{Source: g.cfg.Load().Source, ReloadedAt: g.reloadAt},
		Sessions:     g.web.Sessions(),
		Calls:        g.web.Calls(),
		CallsEnabled: g.media != nil,
	}
	g.mu.Unlock()
	if h.SIP.Error == "" {
		h.SIP.Error = st.LastError
	}
	if g.watcher != nil {
		if err := g.watcher.LastError(); err != nil {
			h.Config.ReloadError = err.Error()
			h.Warnings = append(h.Warnings, "the config file has errors; the last good config serves: "+err.Error())
		}
	}
	if st.Warning != "" { // SIP settings in the file that need a restart
		h.Warnings = append(h.Warnings, st.Warning)
	}
	if c := st.TLSCert; c != nil {
		h.SIP.TLS = &healthTLS{Subject: c.Subject, DNSNames: c.DNSNames, NotAfter: c.NotAfter, LoadedAt: c.LoadedAt}
		if c.Err != nil {
			h.SIP.TLS.ReloadError = c.Err.Error()
		}
		for _, w := range certWarnings(*c, time.Now()) {
			h.Warnings = append(h.Warnings, "sip.tls_cert: "+w)
		}
	}
	g.clusterHealth(&h)
	if !h.CallsEnabled {
		h.Warnings = append(h.Warnings, "calls are disabled: the media bridge could not be set up (see the log)")
	}
	if g.cert != nil {
		st := g.cert.Status()
		h.TLS = &healthTLS{Subject: st.Subject, DNSNames: st.DNSNames, NotAfter: st.NotAfter, LoadedAt: st.LoadedAt}
		if st.Err != nil {
			h.TLS.ReloadError = st.Err.Error()
		}
		h.Warnings = append(h.Warnings, certWarnings(st, time.Now())...)
	}
	ready = st.Registration == sip.RegRegistered
	switch {
	case g.draining():
		h.Status, ready = "draining", false
	case !ready:
		h.Status = "degraded"
	}
	return h, ready
}

func (g *gateway) draining() bool {
	if g.drain == nil {
		return false
	}
	select {
	case <-g.drain:
		return true
	default:
		return false
	}
}

// serveLive answers 200 while the process serves HTTP at all.
func serveLive(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// serveReady answers 200 when visitors can be served, 503 otherwise; the
// body is the status and the warnings, one a line.
func (g *gateway) serveReady(w http.ResponseWriter, _ *http.Request) {
	h, ready := g.health()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprintln(w, h.Status)
	if !ready && h.Status == "degraded" {
		fmt.Fprintf(w, "not registered to the PBX: %s %s\n", h.SIP.Registration, h.SIP.Error)
	}
	for _, warning := range h.Warnings {
		fmt.Fprintln(w, "warning:", warning)
	}
}

// serveHealth is the detailed state as JSON, with /readyz's status code.
func (g *gateway) serveHealth(w http.ResponseWriter, _ *http.Request) {
	h, ready := g.health()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(h)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// newCallSetupHistogram is frontdesk_call_setup_seconds: per answered call
// the gateway's own part of its setup (part="gateway": the visitor's
// Channels to the INVITE sent, and the answer to CallInfo connected
// written) and the PBX's (part="pbx": INVITE to answer, ringing included).
func newCallSetupHistogram() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "frontdesk_call_setup_seconds",
		Help:    "Setup of answered calls: the gateway's own part (Channels to INVITE sent, answer to CallInfo connected), and the PBX's (INVITE to answer, ringing included).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18), // 0.5 ms to 65 s
	}, []string{"part"})
}

// metrics builds the Prometheus registry; every value is read when scraped.
func (g *gateway) metrics() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gauge := func(name, help string, f func() float64) {
		r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	r.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "frontdesk_build_info",
		Help:        "Always 1; the labels say which build runs (after an upgrade or a rollback).",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	}, func() float64 { return 1 }))
	gauge("frontdesk_ready", "1 while /readyz answers 200: registered to the PBX, a config in force, not draining.", func() float64 {
		if _, ready := g.health(); ready {
			return 1
		}
		return 0
	})
	gauge("frontdesk_sip_registered", "1 while the gateway is registered to the PBX.", func() float64 {
		if g.ua.Status().Registration == sip.RegRegistered {
			return 1
		}
		return 0
	})
	gauge("frontdesk_sip_subscriptions", "Subscriptions the config needs.", func() float64 {
		return float64(g.ua.Status().Subscriptions)
	})
	gauge("frontdesk_sip_subscriptions_active", "Subscriptions with an active or pending dialog.", func() float64 {
		return float64(g.ua.Status().Active)
	})
	gauge("frontdesk_widget_sessions", "Open widget websocket sessions.", func() float64 {
		return float64(g.web.Sessions())
	})
	for _, reason := range widget.RefusalReasons {
		r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "frontdesk_widget_sessions_refused_total",
			Help:        "Widget websocket sessions refused before they started, by reason.",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(g.web.Refused(reason)) }))
	}
	r.MustRegister(newRatingsCollector(g.web.Ratings))
	if g.callSetup != nil {
		r.MustRegister(g.callSetup)
	}
	gauge("frontdesk_calls", "Running calls.", func() float64 {
		return float64(g.web.Calls())
	})
	gauge("frontdesk_chats", "Live chats, including those waiting for their visitor to come back.", func() float64 {
		return float64(g.chat.Chats())
	})
	gauge("frontdesk_waiting", "Visitors waiting in line for a busy agent on this node.", func() float64 {
		return float64(g.web.Waiting())
	})
	gauge("frontdesk_calls_parked", "Calls waiting for their visitor's next page (calls.reattach_grace).", func() float64 {
		return float64(g.web.ParkedCalls())
	})
	counter("frontdesk_calls_reattached_total", "Parked calls a new page of their visitor took back.", func() float64 {
		return float64(g.web.ReattachedCalls())
	})
	counter("frontdesk_calls_parked_expired_total", "Parked calls hung up because their visitor did not come back in time.", func() float64 {
		return float64(g.web.ExpiredParkedCalls())
	})
	counter("frontdesk_sip_notifies_total", "NOTIFY requests received for subscriptions.", func() float64 {
		return float64(g.notifies.Load())
	})
	for _, reason := range sip.RejectReasons() {
		r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "frontdesk_sip_rejected_total",
			Help:        "Incoming SIP dropped or refused: from an untrusted source, not SIP, or a chat reply over UDP while the gateway uses TCP/TLS.",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(g.ua.Status().Rejected[reason]) }))
	}
	for _, reason := range sip.SubscribeFailureReasons() {
		r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "frontdesk_sip_subscription_failures_total",
			Help:        "Failed subscription attempts, by reason: no answer, refused by the PBX (bad-event, forbidden, not-found, rejected, noresource), or another error.",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(g.ua.Status().SubscribeFailures[reason]) }))
	}
	counter("frontdesk_sip_pbx_lost_total", "Times the PBX stopped answering or forgot the registration; each is followed by registering and subscribing again.", func() float64 {
		return float64(g.ua.Status().PBXLost)
	})
	counter("frontdesk_sip_notify_bad_bodies_total", "NOTIFY bodies that could not be parsed.", func() float64 {
		return float64(g.badBody.Load())
	})
	if g.cert != nil {
		gauge("frontdesk_tls_certificate_expiry_timestamp_seconds", "When the visitor port's TLS certificate expires (Unix time).", func() float64 {
			return float64(g.cert.Status().NotAfter.Unix())
		})
		counter("frontdesk_tls_certificate_reloads_total", "Renewed TLS certificates taken into use without a restart.", func() float64 {
			return float64(g.cert.Status().Reloads)
		})
		counter("frontdesk_tls_certificate_reload_failures_total", "Changed TLS certificate files refused (the previous certificate serves).", func() float64 {
			return float64(g.cert.Status().Failures)
		})
		gauge("frontdesk_tls_certificate_rejected", "1 while the certificate files on disk are refused and the previous certificate serves.", func() float64 {
			return boolFloat(g.cert.Status().Err != nil)
		})
	}
	if g.media != nil {
		for reason, f := range map[string]func(bridge.Rejected) uint64{
			"source": func(r bridge.Rejected) uint64 { return r.Source },
			"srtp":   func(r bridge.Rejected) uint64 { return r.SRTP },
			"header": func(r bridge.Rejected) uint64 { return r.Header },
		} {
			r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name:        "frontdesk_rtp_rejected_packets_total",
				Help:        "RTP and RTCP packets from the PBX side refused: from a source that is not the PBX's, failing SRTP authentication, or not RTP.",
				ConstLabels: prometheus.Labels{"reason": reason},
			}, func() float64 { return float64(f(g.media.Rejected())) }))
		}
	}
	if g.media != nil {
		for _, outcome := range bridge.TransferOutcomes {
			r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name:        "frontdesk_call_transfers_total",
				Help:        "Calls the agent's side transferred (REFER), by outcome: transferred, or why the target did not take the call.",
				ConstLabels: prometheus.Labels{"outcome": outcome},
			}, func() float64 { return float64(g.media.Transfers(outcome)) }))
		}
	}
	g.clusterMetrics(r)
	if g.watcher != nil {
		counter("frontdesk_config_reloads_total", "Successful config reloads.", func() float64 {
			ok, _ := g.watcher.Reloads()
			return float64(ok)
		})
		counter("frontdesk_config_reload_failures_total", "Config reloads rejected as invalid.", func() float64 {
			_, failed := g.watcher.Reloads()
			return float64(failed)
		})
		gauge("frontdesk_config_rejected", "1 while the config file on disk is rejected and the last good config serves.", func() float64 {
			return boolFloat(g.watcher.LastError() != nil)
		})
	}
	return r
}
