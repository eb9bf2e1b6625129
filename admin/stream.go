package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// traceStart is the first event of a trace stream: what it shows.
type traceStart struct {
	// Filter is "" for everything, else WIDGET/AGENT.
	Filter string `json:"filter"`
	// URIs are the addresses the filter matches.
	URIs []string `json:"uris,omitempty"`
}

// serveTrace streams the SIP trace as server-sent events: "ready" first,
// then one "sip" event per message, and "end" when the stream's life is
// over (the page opens a new one).
func (s *Server) serveTrace(w http.ResponseWriter, r *http.Request, _ string) {
	filter := r.URL.Query().Get("agent")
	start, err := s.traceFilter(filter)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	var match func(string) bool
	if filter != "" {
		match = matchAddresses(start.URIs)
	}
	watcher, err := s.trace.watch(match)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	defer s.trace.leave(watcher)
	s.log.Info("admin trace watched", "client", peerIP(r), "filter", filter)
	defer s.log.Info("admin trace left", "client", peerIP(r), "filter", filter)

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	write := func(chunk string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := fmt.Fprint(w, chunk); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	event := func(name string, v any) bool {
		data, err := json.Marshal(v)
		if err != nil {
			return false
		}
		return write("event: " + name + "\ndata: " + string(data) + "\n\n")
	}
	if !event("ready", start) {
		return
	}
	life := time.NewTimer(streamLife)
	defer life.Stop()
	ping := time.NewTicker(streamPing)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.trace.done:
			event("end", map[string]string{"reason": errTraceClosed.Error()})
			return
		case <-life.C:
			event("end", map[string]string{"reason": "stream time is over"})
			return
		case <-ping.C:
			if !write(": ping\n\n") {
				return
			}
		case e := <-watcher.queue:
			e.Dropped = watcher.dropped.Swap(0)
			if !event("sip", e) {
				return
			}
		}
	}
}

// traceFilter resolves ?agent=WIDGET/AGENT to the addresses it matches:
// the agent's and, in mode boolean, the boolean object's.
func (s *Server) traceFilter(filter string) (traceStart, error) {
	if filter == "" {
		return traceStart{}, nil
	}
	widgetID, agentID, ok := strings.Cut(filter, "/")
	if !ok {
		return traceStart{}, errors.New("agent must be WIDGET/AGENT")
	}
	w := s.src.Config().Widget(widgetID)
	if w == nil {
		return traceStart{}, fmt.Errorf("no widget %q", widgetID)
	}
	for _, a := range w.Agents {
		if a.ID == agentID {
			st := traceStart{Filter: w.ID + "/" + a.ID, URIs: []string{a.URI}}
			if a.BooleanURI != "" {
				st.URIs = append(st.URIs, a.BooleanURI)
			}
			return st, nil
		}
	}
	return traceStart{}, fmt.Errorf("widget %s has no agent %q", w.ID, agentID)
}
