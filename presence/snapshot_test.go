package presence

import (
	"testing"

	"github.com/frontdesk-gw/frontdesk/config"
)

// TestSnapshotRestore: a Store restored from another's snapshots answers
// the same availability, and a later NOTIFY of its own subscription (dialog
// version 0) is taken.
func TestSnapshotRestore(t *testing.T) {
	const uri = "sip:alice@pbx.test"
	agent := config.Agent{Mode: config.ModePresence, URI: uri}
	src := NewStore()
	if _, err := src.ApplyPresence(uri, "application/pidf+xml", []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@pbx.test"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`)); err != nil {
		t.Fatal(err)
	}
	if _, err := src.ApplyDialog(uri, []byte(`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="7" state="full" entity="sip:alice@pbx.test"><dialog id="d1"><state>confirmed</state></dialog></dialog-info>`)); err != nil {
		t.Fatal(err)
	}
	dst := NewStore()
	if !dst.Restore(uri, EventPresence, src.Snapshot(uri, EventPresence)) || !dst.Restore(uri, EventDialog, src.Snapshot(uri, EventDialog)) {
		t.Fatal("Restore reported no change on an empty store")
	}
	if got, want := dst.Availability(agent), src.Availability(agent); got != want || got != Busy {
		t.Errorf("restored availability %q, source %q, want busy", got, want)
	}
	if dst.Restore(uri, EventDialog, src.Snapshot(uri, EventDialog)) {
		t.Error("restoring the same snapshot again reported a change")
	}
	changed, err := dst.ApplyDialog(uri, []byte(`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:alice@pbx.test"/>`))
	if err != nil || !changed {
		t.Fatalf("first NOTIFY of a new subscription after Restore: changed %v, err %v; want taken", changed, err)
	}
	if got := dst.Availability(agent); got != Available {
		t.Errorf("availability after the own NOTIFY = %q, want online", got)
	}
	if !dst.Restore(uri, EventPresence, Snapshot{}) || dst.Availability(agent) != Offline {
		t.Errorf("an unknown snapshot did not forget the presence: %q", dst.Availability(agent))
	}
}

// TestSnapshotCarriesRefusal: in a cluster the node holding a subscription
// hears the PBX refuse a package; every node's store must fall back to the
// other package as the holder's does.
func TestSnapshotCarriesRefusal(t *testing.T) {
	const uri = "sip:bob@pbx.test"
	agent := config.Agent{Mode: config.ModePresence, URI: uri}
	src, dst := NewStore(), NewStore()
	if _, err := src.ApplyPresence(uri, "application/pidf+xml", []byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@pbx.test"><tuple id="t"><status><basic>open</basic></status></tuple></presence>`)); err != nil {
		t.Fatal(err)
	}
	src.Refuse(uri, EventDialog)
	sn := src.Snapshot(uri, EventDialog)
	if !sn.Refused || sn.Known {
		t.Fatalf("snapshot of a refused package = %+v", sn)
	}
	dst.Restore(uri, EventPresence, src.Snapshot(uri, EventPresence))
	if !dst.Restore(uri, EventDialog, sn) {
		t.Fatal("restoring a refusal reported no change")
	}
	if got, want := dst.Availability(agent), src.Availability(agent); got != want {
		t.Errorf("restored availability %q, holder's %q", got, want)
	}
	if !dst.Snapshot(uri, EventDialog).Refused {
		t.Error("the restored store does not know the package was refused")
	}
	if !dst.Restore(uri, EventDialog, Snapshot{}) {
		t.Error("an unknown snapshot after a refusal reported no change")
	}
}
