package admin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/frontdesk-gw/frontdesk/sip"
)

func TestStateShowsAgentsAndWhy(t *testing.T) {
	f := newFixture(t, tokenAdmin(), "127.0.0.1:9480")
	alice := sip.Target{URI: "sip:alice@pbx.test", Event: sip.EventPresence}
	body := presence.Status{Basic: presence.BasicOpen, Note: "At my <desk>"}.MarshalPIDF(alice.URI)
	if _, err := f.store.ApplyPresence(alice.URI, presence.ContentTypePIDF, body); err != nil {
		t.Fatal(err)
	}
	f.tracker.Notified(sip.Notification{Target: alice, State: sip.SubActive, ContentType: presence.ContentTypePIDF, Body: body})
	dialog := presence.DialogInfo{Version: 1, Full: true, Entity: alice.URI,
		Dialogs: []presence.Dialog{{ID: "c1", State: presence.DialogEarly}}}.MarshalDialogInfo()
	if _, err := f.store.ApplyDialog(alice.URI, dialog); err != nil {
		t.Fatal(err)
	}
	f.tracker.Lost(sip.Target{URI: "sip:day@pbx.test", Event: sip.EventPresence}, errors.New("SUBSCRIBE: 489 Bad Event"))

	_, raw := f.get("/admin/api/state", "Authorization", "Bearer "+testToken)
	var st State
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatal(err)
	}
	if st.SIP.Registration != sip.RegRegistered || st.Sessions != 2 || st.Calls != 1 || st.Chats != 1 || len(st.Widgets) != 1 {
		t.Fatalf("state %+v", st)
	}
	agents := map[string]Agent{}
	for _, a := range st.Widgets[0].Agents {
		agents[a.ID] = a
	}
	a := agents["alice"]
	if a.Availability != presence.Busy || a.Rule != "presence open, dialog c1 early: busy" || a.Calls != 1 {
		t.Errorf("alice %+v", a)
	}
	if a.Presence == nil || !a.Presence.Known || a.Presence.Basic != "open" || a.Presence.Note != "At my <desk>" ||
		a.Presence.Subscription == nil || a.Presence.Subscription.Notifies != 1 || !strings.Contains(a.Presence.Subscription.Body, "At my &lt;desk&gt;") {
		t.Errorf("alice presence %+v", a.Presence)
	}
	if a.Dialog == nil || !a.Dialog.Known || len(a.Dialog.Dialogs) != 1 || a.Dialog.Dialogs[0].State != presence.DialogEarly || a.Dialog.Subscription != nil {
		t.Errorf("alice dialog %+v", a.Dialog)
	}
	h := agents["hotline"]
	if h.Availability != presence.Offline || h.Boolean != "sip:day@pbx.test" || h.Dialog != nil ||
		h.Presence == nil || h.Presence.Known || h.Presence.Subscription == nil || h.Presence.Subscription.State != "lost" ||
		h.Presence.Subscription.LostError != "SUBSCRIBE: 489 Bad Event" {
		t.Errorf("hotline %+v %+v", h, h.Presence)
	}
	if q := agents["queue"]; q.Availability != presence.Available || q.Presence != nil || q.Chats != 1 || q.Rule != "mode always: always available" {
		t.Errorf("queue %+v", q)
	}
	if d := agents["holiday"]; d.Availability != presence.Offline || d.Rule != "mode inactive: never available" {
		t.Errorf("holiday %+v", d)
	}
}

func TestTrackerKeepsBoundedState(t *testing.T) {
	tr := NewTracker()
	target := sip.Target{URI: "sip:a@pbx.test", Event: sip.EventDialog}
	tr.Notified(sip.Notification{Target: target, Body: []byte(strings.Repeat("x", maxKeptBody+10))})
	s, ok := tr.Get(target)
	if !ok || len(s.Body) != maxKeptBody || !s.Truncated || s.State != "active" || s.Notifies != 1 || s.LastNotify.IsZero() {
		t.Errorf("after a large NOTIFY: %+v", s)
	}
	tr.Lost(target, errors.New("refresh: 481"))
	if s, _ := tr.Get(target); s.State != "lost" || s.LostError != "refresh: 481" || s.Notifies != 1 {
		t.Errorf("after a loss: %+v", s)
	}
	tr.Lost(target, sip.ErrSubscriptionRemoved)
	if _, ok := tr.Get(target); ok {
		t.Error("a removed subscription is still kept")
	}
}
