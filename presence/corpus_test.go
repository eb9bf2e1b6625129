package presence

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// presenceCorpus says what each presence body in the shared corpus means.
var presenceCorpus = map[string]Status{
	// Digium-presence tuple has no <basic> and does not count; person says away.
	"pidf/asterisk-chansip-digium-presence-away-reconstructed.xml": {Basic: BasicClosed, Away: true, Note: "Unavailable"},
	// Old draft namespaces; the activity is ep:busy.
	"pidf/asterisk-chansip-onthephone-reconstructed.xml": {Basic: BasicOpen, Busy: true, Note: "On the phone"},
	"pidf/asterisk-pjsip-onhold.xml":                     {Basic: BasicOpen, Busy: true, Note: "On hold"},
	"pidf/asterisk-pjsip-ready.xml":                      {Basic: BasicOpen, Note: "Ready"},
	"pidf/asterisk-pjsip-ringing.xml":                    {Basic: BasicOpen, Busy: true, Note: "Ringing"},
	// Activity as text inside <ep:activity>.
	"pidf/audiocodes-sfb-publish-onthephone-old-rpid-ns.xml": {Basic: BasicOpen, Busy: true},
	"pidf/freeswitch-onthephone-reconstructed.xml":           {Basic: BasicOpen, Busy: true, Note: "Talk 1002"},
	"pidf/freeswitch-unregistered-closed-reconstructed.xml":  {Basic: BasicClosed, Note: "Unregistered"},
	// Kamailio's dummy document for presentities that published nothing. It
	// is taken at its word (open): Kamailio sends it only when the operator
	// enabled force_dummy_presence so that non-publishing phones show as
	// reachable, and dialog state still marks them busy.
	"pidf/kamailio-presence_xml-empty-body-literal.xml": {Basic: BasicOpen, Note: "Available"},
	"pidf/linphone-android-publish-pidfonline.xml":      {Basic: BasicOpen},
	"xpidf/asterisk-chansip-inuse-reconstructed.xml":    {Basic: BasicOpen, Busy: true},
	"xpidf/asterisk-pjsip-inuse-reconstructed.xml":      {Basic: BasicOpen, Busy: true},
	// Two <status> elements; the attribute-less one only carries the note.
	"xpidf/freeswitch-polycom-onthephone-reconstructed.xml": {Basic: BasicOpen, Busy: true, Note: "On The Phone"},
}

var dialogCorpus = map[string]DialogInfo{
	"dialog/asterisk-chansip-early-pickup-callid-reconstructed.xml": {Version: 3, Full: true, Entity: "sip:201@10.0.0.5",
		Dialogs: []Dialog{{ID: "201", State: DialogEarly, Direction: "recipient"}}},
	"dialog/asterisk-mikopbx-confirmed-real.xml": {Version: 9, Full: true, Entity: "sip:103@192.168.1.10:5060",
		Dialogs: []Dialog{{ID: "103", State: DialogConfirmed}}},
	"dialog/asterisk-pjsip-confirmed-onhold-rendering.xml": {Version: 3, Full: true, Entity: "sip:presence@127.0.0.1:5061",
		Dialogs: []Dialog{{ID: "presence", State: DialogConfirmed}}},
	"dialog/asterisk-pjsip-early-local-identity.xml": {Version: 1, Full: true, Entity: "sip:presence@127.0.0.1:5060",
		Dialogs: []Dialog{{ID: "presence", State: DialogEarly, Direction: "recipient"}}},
	"dialog/asterisk-pjsip-early-notifycid-reconstructed.xml": {Version: 7, Full: true, Entity: "sip:103@192.168.1.10:5060",
		Dialogs: []Dialog{{ID: "103", State: DialogEarly, Direction: "recipient"}}},
	"dialog/asterisk-pjsip-early-recipient-minimal.xml": {Version: 1, Full: true, Entity: "sip:presence@127.0.0.1:5061",
		Dialogs: []Dialog{{ID: "presence", State: DialogEarly, Direction: "recipient"}}},
	"dialog/freeswitch-early-pickup-star-target-reconstructed.xml": {Version: 12, Full: true, Entity: "sip:1001@10.0.0.10",
		Dialogs: []Dialog{{ID: "b3f1c2a0-4e5d-11ee-9a1f-2b7c9d3e4f51", State: DialogEarly, Direction: "recipient"}}},
	"dialog/freeswitch-park-proto-reconstructed.xml": {Version: 3, Full: true, Entity: "sip:5900@10.0.0.10",
		Dialogs: []Dialog{{ID: "7d2e9b84-4e5e-11ee-9a1f-2b7c9d3e4f51", State: DialogConfirmed, Direction: "initiator"}}},
	// No namespace, version or state attribute: read as full, version 0.
	"dialog/kamailio-presence_dialoginfo-dummy-literal.xml": {Version: 0, Full: true,
		Dialogs: []Dialog{{ID: "615293b33c62dec073e05d9421e9f48b", State: DialogTerminated, Direction: "recipient"}}},
	"dialog/kamailio-pua_dialoginfo-publish-display-on-target-reconstructed.xml": {Version: 0, Full: true, Entity: "sip:alice@example.com",
		Dialogs: []Dialog{{ID: "a84b4c76e66710@pc33.example.com", State: DialogConfirmed, Direction: "initiator"}}},
	"dialog/opensips-bug3362-selfclosing-no-dialog.xml": {Version: 0, Full: true, Entity: "sip:1000@example.com"},
}

func TestCorpusPresence(t *testing.T) {
	dir := corpusDir(t)
	checkCovered(t, dir, []string{"pidf", "xpidf"}, presenceCorpus)
	for name, want := range presenceCorpus {
		t.Run(name, func(t *testing.T) {
			body := readFile(t, filepath.Join(dir, name))
			types := []string{ContentTypePIDF, ContentTypeCPIMPIDF}
			if filepath.Dir(name) == "xpidf" {
				types = []string{ContentTypeXPIDF, ContentTypeCPIMPIDF}
			}
			for _, ct := range types {
				got, err := ParsePresence(ct, body)
				if err != nil {
					t.Fatalf("ParsePresence(%s): %v", ct, err)
				}
				if got != want {
					t.Errorf("ParsePresence(%s) = %+v, want %+v", ct, got, want)
				}
			}
		})
	}
}

func TestCorpusDialogInfo(t *testing.T) {
	dir := corpusDir(t)
	checkCovered(t, dir, []string{"dialog"}, dialogCorpus)
	for name, want := range dialogCorpus {
		t.Run(name, func(t *testing.T) {
			got, err := ParseDialogInfo(readFile(t, filepath.Join(dir, name)))
			if err != nil {
				t.Fatalf("ParseDialogInfo: %v", err)
			}
			assertDialogInfo(t, got, want)
		})
	}
}

func assertDialogInfo(t *testing.T, got, want DialogInfo) {
	t.Helper()
	if got.Version != want.Version || got.Full != want.Full || got.Entity != want.Entity ||
		!slices.Equal(got.Dialogs, want.Dialogs) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// checkCovered fails when a corpus file has no expectation, so new samples
// cannot slip in untested.
func checkCovered[V any](t *testing.T, dir string, subdirs []string, table map[string]V) {
	t.Helper()
	for _, sub := range subdirs {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatalf("read corpus: %v", err)
		}
		for _, e := range entries {
			if _, ok := table[sub+"/"+e.Name()]; !ok {
				t.Errorf("corpus file %s/%s has no expectation", sub, e.Name())
			}
		}
	}
}
