package config

import (
	"reflect"
	"slices"
	"sort"
)

// Changes says what differs between two configs, so a reload can touch
// only what changed.
type Changes struct {
	SIP    bool
	HTTP   bool
	ICE    bool
	Limits bool
	Calls  bool
	Chat   bool
	// Cluster: the engine's settings need a restart.
	Cluster bool
	// SMTP: the mail server of transcripts (read at each send).
	SMTP    bool
	Widgets []WidgetChange // only widgets that changed: new config's order, then removed ones
}

// WidgetChange is what changed in one widget.
type WidgetChange struct {
	ID             string // normalized widget id
	Added, Removed bool
	Settings       bool     // anything but the agents changed
	AgentsAdded    []string // agent ids
	AgentsChanged  []string
	AgentsRemoved  []string
	Order          bool // agents present in both appear in a different order
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return !c.SIP && !c.HTTP && !c.ICE && !c.Limits && !c.Calls && !c.Chat && !c.Cluster && !c.SMTP && len(c.Widgets) == 0
}

// Diff compares two configs. A nil config counts as empty. Line numbers
// do not count as changes; picture bytes do.
func Diff(old, new *Config) Changes {
	if old == nil {
		old = &Config{}
	}
	if new == nil {
		new = &Config{}
	}
	ch := Changes{
		SIP:     !reflect.DeepEqual(old.SIP, new.SIP),
		HTTP:    !reflect.DeepEqual(old.HTTP, new.HTTP) || old.Admin != new.Admin, // both need a restart
		ICE:     !reflect.DeepEqual(old.ICE, new.ICE),
		Limits:  old.Limits != new.Limits,
		Calls:   !reflect.DeepEqual(old.Calls, new.Calls),
		Chat:    old.Chat != new.Chat,
		Cluster: !reflect.DeepEqual(old.Cluster, new.Cluster),
		SMTP:    !reflect.DeepEqual(old.SMTP, new.SMTP),
	}
	for i := range new.Widgets {
		nw := &new.Widgets[i]
		ow := old.Widget(nw.ID)
		if ow == nil {
			ch.Widgets = append(ch.Widgets, WidgetChange{ID: nw.ID, Added: true, AgentsAdded: agentIDs(nw.Agents)})
			continue
		}
		if wc := diffWidget(ow, nw); wc.changed() {
			ch.Widgets = append(ch.Widgets, wc)
		}
	}
	for i := range old.Widgets {
		ow := &old.Widgets[i]
		if new.Widget(ow.ID) == nil {
			ch.Widgets = append(ch.Widgets, WidgetChange{ID: ow.ID, Removed: true, AgentsRemoved: agentIDs(ow.Agents)})
		}
	}
	return ch
}

func (wc WidgetChange) changed() bool {
	return wc.Added || wc.Removed || wc.Settings || wc.Order ||
		len(wc.AgentsAdded)+len(wc.AgentsChanged)+len(wc.AgentsRemoved) > 0
}

func diffWidget(ow, nw *Widget) WidgetChange {
	wc := WidgetChange{ID: nw.ID}
	ows, nws := *ow, *nw
	ows.Agents, nws.Agents, ows.Line, nws.Line = nil, nil, 0, 0
	wc.Settings = !reflect.DeepEqual(ows, nws)

	oldByID := map[string]*Agent{}
	for i := range ow.Agents {
		oldByID[ow.Agents[i].ID] = &ow.Agents[i]
	}
	var newCommon []string
	for i := range nw.Agents {
		na := &nw.Agents[i]
		oa, ok := oldByID[na.ID]
		switch {
		case !ok:
			wc.AgentsAdded = append(wc.AgentsAdded, na.ID)
		case !sameAgent(oa, na):
			wc.AgentsChanged = append(wc.AgentsChanged, na.ID)
		}
		if ok {
			newCommon = append(newCommon, na.ID)
		}
		delete(oldByID, na.ID)
	}
	var oldCommon []string
	for _, oa := range ow.Agents {
		if _, gone := oldByID[oa.ID]; gone {
			wc.AgentsRemoved = append(wc.AgentsRemoved, oa.ID)
		} else {
			oldCommon = append(oldCommon, oa.ID)
		}
	}
	wc.Order = !slices.Equal(oldCommon, newCommon)
	return wc
}

func sameAgent(a, b *Agent) bool {
	x, y := *a, *b
	x.Line, y.Line = 0, 0
	return reflect.DeepEqual(x, y)
}

func agentIDs(agents []Agent) []string {
	ids := make([]string, len(agents))
	for i, a := range agents {
		ids[i] = a.ID
	}
	return ids
}

// Widget returns the widget with id, given in either UUID form, or nil.
func (c *Config) Widget(id string) *Widget {
	norm, ok := normalizeUUID(id)
	if !ok {
		return nil
	}
	for i := range c.Widgets {
		if c.Widgets[i].ID == norm {
			return &c.Widgets[i]
		}
	}
	return nil
}

// Monitored is one SIP address the gateway subscribes to.
type Monitored struct {
	URI      string
	Presence bool // subscribe to the presence event package
	Dialog   bool // subscribe to the dialog event package
}

// Monitored lists the distinct addresses to subscribe to, sorted by URI:
// presence-mode agents need presence and dialog state (or the one their
// source names), boolean objects need presence; always and inactive agents
// need nothing.
func (c *Config) Monitored() []Monitored {
	byURI := map[string]*Monitored{}
	add := func(uri string, presence, dialog bool) {
		m := byURI[uri]
		if m == nil {
			m = &Monitored{URI: uri}
			byURI[uri] = m
		}
		m.Presence = m.Presence || presence
		m.Dialog = m.Dialog || dialog
	}
	for _, w := range c.Widgets {
		for _, a := range w.Agents {
			switch a.Mode {
			case ModePresence:
				add(a.URI, a.Source != SourceDialog, a.Source != SourcePresence)
			case ModeBoolean:
				add(a.BooleanURI, true, false)
			}
		}
	}
	out := make([]Monitored, 0, len(byURI))
	for _, m := range byURI {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URI < out[j].URI })
	return out
}
