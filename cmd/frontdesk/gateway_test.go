package main

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/admin"
	"github.com/frontdesk-gw/frontdesk/presence"
	"github.com/frontdesk-gw/frontdesk/sip"
)

const openPIDF = `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:erin@pbx.test"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`

// A target the UA no longer subscribes to is forgotten: an agent removed
// from the config and added again starts unknown, not with its old state.
func TestRemovedTargetForgotten(t *testing.T) {
	g := &gateway{log: slog.New(slog.NewTextHandler(io.Discard, nil)), store: presence.NewStore(), hub: presence.NewHub(time.Millisecond),
		tracker: admin.NewTracker()}
	erin := sip.Target{URI: "sip:erin@pbx.test", Event: sip.EventPresence}
	g.Notify(sip.Notification{Target: erin, State: sip.SubActive, ContentType: "application/pidf+xml", Body: []byte(openPIDF)})
	if _, known := g.store.Presence(erin.URI); !known {
		t.Fatal("presence not stored")
	}
	if sub, ok := g.tracker.Get(erin); !ok || sub.Notifies != 1 || sub.State != "active" {
		t.Errorf("the admin view's tracker has %+v", sub)
	}
	g.SubscriptionLost(erin, sip.ErrSubscriptionRemoved)
	if st, known := g.store.Presence(erin.URI); known {
		t.Errorf("removed target still has presence %+v", st)
	}
	if _, ok := g.tracker.Get(erin); ok {
		t.Error("the admin view still shows a removed subscription")
	}
}
