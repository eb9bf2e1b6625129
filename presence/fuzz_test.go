package presence

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var fuzzContentTypes = []string{ContentTypePIDF, ContentTypeXPIDF, ContentTypeCPIMPIDF}

// seedFiles adds every file of testdata and, when the shared corpus is
// present, of the given corpus subdirectories.
func seedFiles(f *testing.F, add func([]byte), corpusSubdirs ...string) {
	dirs := []string{"testdata"}
	if corpus, err := findCorpus(); err == nil {
		for _, sub := range corpusSubdirs {
			dirs = append(dirs, filepath.Join(corpus, sub))
		}
	}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			f.Fatalf("seed from %s: %v", dir, err)
		}
		for _, e := range entries {
			add(readFile(f, filepath.Join(dir, e.Name())))
		}
	}
}

func FuzzParsePresence(f *testing.F) {
	seedFiles(f, func(b []byte) {
		for i := range fuzzContentTypes {
			f.Add(uint8(i), b)
		}
	}, "pidf", "xpidf")
	f.Fuzz(func(t *testing.T, ct uint8, body []byte) {
		contentType := fuzzContentTypes[int(ct)%len(fuzzContentTypes)]
		st, err := ParsePresence(contentType, body)
		st2, err2 := ParsePresence(contentType, body)
		if (err == nil) != (err2 == nil) || st != st2 {
			t.Fatalf("not deterministic: %+v/%v then %+v/%v", st, err, st2, err2)
		}
		if err != nil {
			return
		}
		switch st.Basic {
		case BasicUnknown, BasicOpen, BasicClosed:
		default:
			t.Fatalf("Basic = %d", st.Basic)
		}
		back, err := ParsePresence(ContentTypePIDF, st.MarshalPIDF("sip:fuzz@example.com"))
		if err != nil {
			t.Fatalf("parse of marshalled %+v: %v", st, err)
		}
		if back.Basic != st.Basic || back.Busy != st.Busy || back.Away != st.Away {
			t.Fatalf("round trip %+v -> %+v", st, back)
		}
	})
}

func FuzzParseDialogInfo(f *testing.F) {
	seedFiles(f, func(b []byte) { f.Add(b) }, "dialog")
	f.Fuzz(func(t *testing.T, body []byte) {
		info, err := ParseDialogInfo(body)
		info2, err2 := ParseDialogInfo(body)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(info, info2) {
			t.Fatalf("not deterministic: %+v/%v then %+v/%v", info, err, info2, err2)
		}
		if err != nil {
			return
		}
		if info.Version < 0 {
			t.Fatalf("Version = %d", info.Version)
		}
		for _, d := range info.Dialogs {
			if ParseDialogState(string(d.State)) != d.State {
				t.Fatalf("dialog state %q is not a known value", d.State)
			}
		}
		back, err := ParseDialogInfo(info.MarshalDialogInfo())
		if err != nil {
			t.Fatalf("parse of marshalled %+v: %v", info, err)
		}
		if back.Version != info.Version || back.Full != info.Full || len(back.Dialogs) != len(info.Dialogs) {
			t.Fatalf("round trip %+v -> %+v", info, back)
		}
		for i := range info.Dialogs {
			if back.Dialogs[i].State != info.Dialogs[i].State {
				t.Fatalf("round trip dialog %d: %+v -> %+v", i, info.Dialogs[i], back.Dialogs[i])
			}
		}
	})
}
