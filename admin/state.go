package admin

import (
	"maps"
	"slices"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/frontdesk-gw/frontdesk/sip"
)

// Sources is what the admin view reads, when asked; the gateway provides
// it. Every function must be safe to call from any goroutine.
type Sources struct {
	Config  func() *config.Config
	Store   *presence.Store
	Tracker *Tracker
	SIP     func() sip.Status
	// Health is the /healthz document (warnings, the last reload error,
	// SIP errors and failing subscriptions), shown as it is.
	Health       func() any
	Sessions     func() int
	CallsByAgent func() map[string]int // by config.Agent.URI
	ChatsByAgent func() map[string]int // by config.Agent.URI
}

// State is what GET /admin/api/state answers.
type State struct {
	Generated time.Time `json:"generated"`
	Access    Access    `json:"access"`
	SIP       SIPState  `json:"sip"`
	Health    any       `json:"health"`
	Sessions  int       `json:"sessions"`
	Calls     int       `json:"calls"`
	Chats     int       `json:"chats"`
	Widgets   []Widget  `json:"widgets"`
}

// SIPState is the registration as the UA reports it.
type SIPState struct {
	Registration     sip.RegState `json:"registration"`
	LastError        string       `json:"last_error,omitempty"`
	RegisteredAt     time.Time    `json:"registered_at,omitzero"`
	Expires          time.Time    `json:"expires,omitzero"`
	Subscriptions    int          `json:"subscriptions"`
	Active           int          `json:"active"`
	NotifiesReceived int64        `json:"notifies_received"`
	RegisterFailures int64        `json:"register_failures"`
	PBXLost          int64        `json:"pbx_lost"`
}

// Widget is one widget and its agents, in config order.
type Widget struct {
	ID     string  `json:"id"`
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Agents []Agent `json:"agents"`
}

// Agent is one agent, its availability and why.
type Agent struct {
	ID           string                `json:"id"`
	Name         string                `json:"name"`
	URI          string                `json:"uri"`
	Mode         config.Mode           `json:"mode"`
	Source       config.Source         `json:"source,omitempty"` // mode presence: both, presence or dialog
	Media        []config.Medium       `json:"media"`
	Availability presence.Availability `json:"availability"`
	Rule         string                `json:"rule"`
	// Boolean is the boolean object's address (mode boolean).
	Boolean string `json:"boolean,omitempty"`
	// Presence is the presence state of the address that counts (the
	// agent's, or the boolean object's); Dialog the agent's dialog state.
	// Both are absent in modes always and inactive.
	Presence *PresenceState `json:"presence,omitempty"`
	Dialog   *DialogState   `json:"dialog,omitempty"`
	Calls    int            `json:"calls"`
	Chats    int            `json:"chats"`
}

// PresenceState is what the last presence document said, and its
// subscription.
type PresenceState struct {
	Known bool `json:"known"`
	// Refused: the PBX refuses the package for this address; the other
	// one alone decides.
	Refused      bool          `json:"refused,omitempty"`
	Basic        string        `json:"basic,omitempty"`
	Busy         bool          `json:"busy,omitempty"`
	Away         bool          `json:"away,omitempty"`
	Note         string        `json:"note,omitempty"`
	Subscription *Subscription `json:"subscription,omitempty"`
}

// DialogState is the agent's active dialogs, and its subscription.
type DialogState struct {
	Known        bool          `json:"known"`
	Refused      bool          `json:"refused,omitempty"`
	Dialogs      []Dialog      `json:"dialogs"`
	Subscription *Subscription `json:"subscription,omitempty"`
}

// Dialog is one active dialog.
type Dialog struct {
	ID    string               `json:"id"`
	State presence.DialogState `json:"state"`
}

// state reads the sources now.
func (src Sources) state(now time.Time, access Access) State {
	cfg := src.Config()
	st := src.SIP()
	calls, chats := src.CallsByAgent(), src.ChatsByAgent()
	s := State{
		Generated: now,
		Access:    access,
		SIP: SIPState{Registration: st.Registration, LastError: st.LastError, RegisteredAt: st.RegisteredAt,
			Expires: st.Expires, Subscriptions: st.Subscriptions, Active: st.Active,
			NotifiesReceived: st.NotifiesReceived, RegisterFailures: st.RegisterFailures, PBXLost: st.PBXLost},
		Health:   src.Health(),
		Sessions: src.Sessions(),
		Widgets:  make([]Widget, 0, len(cfg.Widgets)),
	}
	for _, n := range calls {
		s.Calls += n
	}
	for _, n := range chats {
		s.Chats += n
	}
	for _, w := range cfg.Widgets {
		ws := Widget{ID: w.ID, Name: w.Name, Type: string(w.Type), Agents: make([]Agent, 0, len(w.Agents))}
		for _, a := range w.Agents {
			ws.Agents = append(ws.Agents, src.agent(a, calls[a.URI], chats[a.URI]))
		}
		s.Widgets = append(s.Widgets, ws)
	}
	return s
}

func (src Sources) agent(a config.Agent, calls, chats int) Agent {
	e := src.Store.Explain(a)
	out := Agent{ID: a.ID, Name: a.Name, URI: a.URI, Mode: a.Mode, Source: a.Source, Media: a.Media,
		Availability: e.Availability, Rule: e.Rule, Boolean: a.BooleanURI, Calls: calls, Chats: chats}
	if e.URI == "" {
		return out
	}
	out.Presence = &PresenceState{Known: e.Presence != nil, Refused: e.PresenceRefused, Subscription: src.subscription(e.URI, sip.EventPresence)}
	if p := e.Presence; p != nil {
		out.Presence.Basic, out.Presence.Busy, out.Presence.Away, out.Presence.Note = p.Basic.String(), p.Busy, p.Away, p.Note
	}
	if a.Mode == config.ModePresence {
		out.Dialog = &DialogState{Known: e.DialogKnown, Refused: e.DialogRefused, Dialogs: []Dialog{}, Subscription: src.subscription(e.URI, sip.EventDialog)}
		for _, id := range slices.Sorted(maps.Keys(e.Dialogs)) {
			out.Dialog.Dialogs = append(out.Dialog.Dialogs, Dialog{ID: id, State: e.Dialogs[id]})
		}
	}
	return out
}

func (src Sources) subscription(uri string, ev sip.Event) *Subscription {
	if s, ok := src.Tracker.Get(sip.Target{URI: uri, Event: ev}); ok {
		return &s
	}
	return nil
}
