package presence

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePresenceTestdata(t *testing.T) {
	tests := []struct {
		file        string
		contentType string
		want        Status
	}{
		{file: "rfc3863-basic-open.xml", contentType: ContentTypePIDF, want: Status{Basic: BasicOpen}},
		{file: "rfc4480-multi-tuple-meeting.xml", contentType: ContentTypePIDF,
			want: Status{Basic: BasicOpen, Busy: true, Note: "Board meeting"}},
		{file: "closed-with-activities.xml", contentType: ContentTypePIDF,
			want: Status{Basic: BasicClosed, Busy: true, Away: true}},
		{file: "person-only-no-tuple.xml", contentType: ContentTypePIDF, want: Status{Away: true}},
		{file: "cpim-old-namespace.xml", contentType: "application/cpim-pidf+xml; charset=us-ascii",
			want: Status{Basic: BasicOpen}},
		{file: "latin1-note.xml", contentType: "Application/PIDF+XML",
			want: Status{Basic: BasicOpen, Note: "René est là"}},
		{file: "xpidf-inuse.xml", contentType: ContentTypeXPIDF, want: Status{Basic: BasicOpen, Busy: true}},
		{file: "xpidf-open-away.xml", contentType: ContentTypeXPIDF, want: Status{Basic: BasicOpen, Away: true}},
		{file: "xpidf-note-variant.xml", contentType: ContentTypeCPIMPIDF,
			want: Status{Basic: BasicOpen, Busy: true, Note: "On a call"}},
		{file: "xpidf-two-addresses-closed.xml", contentType: ContentTypeXPIDF, want: Status{Basic: BasicClosed}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParsePresence(tt.contentType, readFile(t, filepath.Join("testdata", tt.file)))
			if err != nil {
				t.Fatalf("ParsePresence: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParsePresenceErrors(t *testing.T) {
	huge := append([]byte(`<presence xmlns="urn:ietf:params:xml:ns:pidf"><note>`),
		bytes.Repeat([]byte("x"), MaxBodySize)...)
	huge = append(huge, "</note></presence>"...)
	tests := []struct {
		name        string
		contentType string
		body        []byte
		want        error
	}{
		{name: "garbage", contentType: ContentTypePIDF, body: readFile(t, "testdata/garbage.txt"), want: ErrMalformed},
		{name: "truncated", contentType: ContentTypePIDF, body: readFile(t, "testdata/truncated.xml"), want: ErrMalformed},
		{name: "entities", contentType: ContentTypePIDF, body: readFile(t, "testdata/doctype-entities.xml"), want: ErrDoctype},
		{name: "huge", contentType: ContentTypePIDF, body: huge, want: ErrTooLarge},
		{name: "empty", contentType: ContentTypePIDF, body: []byte(" \r\n"), want: ErrEmptyBody},
		{name: "wrong content type", contentType: "application/dialog-info+xml",
			body: readFile(t, "testdata/rfc3863-basic-open.xml"), want: ErrContentType},
		{name: "bad content type", contentType: "", body: readFile(t, "testdata/rfc3863-basic-open.xml"), want: ErrContentType},
		{name: "wrong root", contentType: ContentTypePIDF, body: readFile(t, "testdata/rfc4235-full-confirmed.xml"), want: ErrMalformed},
		{name: "unknown charset", contentType: ContentTypePIDF,
			body: []byte(`<?xml version="1.0" encoding="KOI8-R"?><presence/>`), want: ErrMalformed},
		{name: "too deep", contentType: ContentTypePIDF,
			body: []byte(`<presence>` + strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40) + `</presence>`), want: ErrMalformed},
		{name: "mismatched tags", contentType: ContentTypePIDF,
			body: []byte(`<presence><tuple></status></presence>`), want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ParsePresence(tt.contentType, tt.body)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if st != (Status{}) {
				t.Errorf("status on error = %+v, want zero", st)
			}
		})
	}
}

// A plain DOCTYPE, as chan_sip sends with XPIDF, is fine; only an internal
// subset is refused.
func TestParsePresenceDoctypeWithoutSubset(t *testing.T) {
	body := `<?xml version="1.0"?>
<!DOCTYPE presence PUBLIC "-//IETF//DTD RFCxxxx XPIDF 1.0//EN" "xpidf.dtd">
<presence><presentity uri="sip:a@example.com"/><atom id="a"><address uri="sip:a@example.com">
<status status="closed"/></address></atom></presence>`
	got, err := ParsePresence(ContentTypeXPIDF, []byte(body))
	if err != nil {
		t.Fatalf("ParsePresence: %v", err)
	}
	if got != (Status{Basic: BasicClosed}) {
		t.Errorf("got %+v, want closed", got)
	}
}

func TestParseDialogInfoTestdata(t *testing.T) {
	tests := []struct {
		file string
		want DialogInfo
	}{
		{file: "rfc4235-full-confirmed.xml", want: DialogInfo{Version: 1, Full: true, Entity: "sip:alice@example.com",
			Dialogs: []Dialog{
				{ID: "as7d900as8", State: DialogConfirmed, Direction: "initiator"},
				{ID: "zxcvbnm3", State: DialogTrying, Direction: "recipient"},
			}}},
		{file: "dialog-partial-terminated.xml", want: DialogInfo{Version: 2, Full: false, Entity: "sip:alice@example.com",
			Dialogs: []Dialog{{ID: "as7d900as8", State: DialogTerminated, Direction: "initiator"}}}},
		{file: "dialog-placeholder-version.xml", want: DialogInfo{Version: 0, Full: true, Entity: "sip:alice@example.com",
			Dialogs: []Dialog{{ID: "615293b33c62dec073e05d9421e9f48b", State: DialogTerminated, Direction: "recipient"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseDialogInfo(readFile(t, filepath.Join("testdata", tt.file)))
			if err != nil {
				t.Fatalf("ParseDialogInfo: %v", err)
			}
			assertDialogInfo(t, got, tt.want)
		})
	}
}

func TestParseDialogInfoErrors(t *testing.T) {
	tests := []struct {
		file string
		want error
	}{
		{file: "dialog-bad-version.xml", want: ErrMalformed},
		{file: "dialog-wrong-root.xml", want: ErrMalformed},
		{file: "garbage.txt", want: ErrMalformed},
		{file: "truncated.xml", want: ErrMalformed},
		{file: "doctype-entities.xml", want: ErrDoctype},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			if _, err := ParseDialogInfo(readFile(t, filepath.Join("testdata", tt.file))); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := ParseDialogInfo(nil); !errors.Is(err, ErrEmptyBody) {
		t.Errorf("empty body: err = %v, want ErrEmptyBody", err)
	}
}

func TestParseDialogState(t *testing.T) {
	tests := []struct {
		in     string
		want   DialogState
		str    string
		active bool
	}{
		{in: "trying", want: DialogTrying, str: "trying", active: true},
		{in: " Proceeding\n", want: DialogProceeding, str: "proceeding", active: true},
		{in: "EARLY", want: DialogEarly, str: "early", active: true},
		{in: "confirmed", want: DialogConfirmed, str: "confirmed", active: true},
		{in: "terminated", want: DialogTerminated, str: "terminated"},
		{in: "ringing", want: DialogUnknown, str: "unknown"},
		{in: "", want: DialogUnknown, str: "unknown"},
	}
	for _, tt := range tests {
		got := ParseDialogState(tt.in)
		if got != tt.want || got.String() != tt.str || got.Active() != tt.active {
			t.Errorf("ParseDialogState(%q) = %q (String %q, Active %v), want %q (%q, %v)",
				tt.in, got, got.String(), got.Active(), tt.want, tt.str, tt.active)
		}
	}
}

func TestBasicString(t *testing.T) {
	for b, want := range map[Basic]string{BasicUnknown: "unknown", BasicOpen: "open", BasicClosed: "closed", Basic(9): "unknown"} {
		if got := b.String(); got != want {
			t.Errorf("Basic(%d).String() = %q, want %q", b, got, want)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, st := range []Status{
		{},
		{Basic: BasicOpen},
		{Basic: BasicOpen, Busy: true, Note: "Talk <1002> & co"},
		{Basic: BasicClosed, Away: true, Note: "Vacation"},
		{Basic: BasicOpen, Busy: true, Away: true},
	} {
		got, err := ParsePresence(ContentTypePIDF, st.MarshalPIDF(`sip:a"b@example.com`))
		if err != nil {
			t.Fatalf("parse marshalled %+v: %v", st, err)
		}
		if got != st {
			t.Errorf("round trip %+v -> %+v", st, got)
		}
	}
	info := DialogInfo{Version: 4, Full: false, Entity: "sip:a&b@example.com", Dialogs: []Dialog{
		{ID: "x<1>", State: DialogEarly, Direction: "recipient"},
		{ID: "y", State: DialogUnknown},
	}}
	got, err := ParseDialogInfo(info.MarshalDialogInfo())
	if err != nil {
		t.Fatalf("parse marshalled dialog-info: %v", err)
	}
	assertDialogInfo(t, got, info)
}
