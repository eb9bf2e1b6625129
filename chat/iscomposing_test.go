package chat

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// corpusDir finds the shared SIP corpus ($FRONTDESK_CORPUS, or
// ../shared/corpus next to the module root) or skips.
func corpusDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("FRONTDESK_CORPUS"); dir != "" {
		return dir
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			corpus := filepath.Join(dir, "..", "shared", "corpus")
			if _, err := os.Stat(corpus); err != nil {
				t.Skipf("corpus not found at %s", corpus)
			}
			return corpus
		}
		if filepath.Dir(dir) == dir {
			t.Skipf("corpus not found: no go.mod above %s", wd)
		}
	}
}

// Every isComposing document of corpus/message parses; the full MESSAGE
// there (text/plain carrying XML) is not an isComposing document.
func TestCorpusIsComposing(t *testing.T) {
	dir := filepath.Join(corpusDir(t), "message")
	want := map[string]ComposingState{
		"pjsip-iscomposing-active-reconstructed.xml": ComposingActive,
		"pjsip-iscomposing-idle-reconstructed.xml":   ComposingIdle,
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name(), func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			ic, err := ParseIsComposing(body)
			st, isDoc := want[e.Name()]
			switch {
			case !isDoc && strings.HasSuffix(e.Name(), ".txt"):
				if err == nil {
					t.Errorf("a whole SIP message parsed as isComposing: %+v", ic)
				}
			case !isDoc:
				t.Fatal("corpus file has no expectation")
			case err != nil:
				t.Fatalf("ParseIsComposing: %v", err)
			case ic != (IsComposing{State: st}):
				t.Errorf("got %+v, want state %s only", ic, st)
			}
		})
	}
}

func TestParseIsComposing(t *testing.T) {
	doc := func(inner string) string {
		return `<?xml version="1.0" encoding="UTF-8"?><isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">` + inner + `</isComposing>`
	}
	for _, tc := range []struct {
		name string
		in   string
		want IsComposing
		err  bool
	}{
		{name: "rfc example", in: doc(`<state>active</state><contenttype>text/plain</contenttype><refresh>90</refresh><lastactive>2003-01-27T10:43:00Z</lastactive>`),
			want: IsComposing{State: ComposingActive, ContentType: "text/plain", Refresh: 90 * time.Second, LastActive: time.Date(2003, 1, 27, 10, 43, 0, 0, time.UTC)}},
		{name: "prefixed and spaced", in: `<ic:isComposing xmlns:ic="urn:ietf:params:xml:ns:im-iscomposing"><ic:state> IDLE </ic:state></ic:isComposing>`,
			want: IsComposing{State: ComposingIdle}},
		{name: "latin-1 prolog", in: `<?xml version="1.0" encoding="ISO-8859-1"?><isComposing><state>idle</state><contenttype>text/caf` + "\xe9" + `</contenttype></isComposing>`,
			want: IsComposing{State: ComposingIdle, ContentType: "text/café"}},
		{name: "bad optional values dropped", in: doc(`<state>active</state><refresh>-5</refresh><lastactive>yesterday</lastactive><x:y xmlns:x="u">z</x:y>`),
			want: IsComposing{State: ComposingActive}},
		{name: "no state", in: doc(`<refresh>60</refresh>`), err: true},
		{name: "unknown state", in: doc(`<state>thinking</state>`), err: true},
		{name: "other root", in: `<presence><state>active</state></presence>`, err: true},
		{name: "broken", in: doc(`<state>active</state`), err: true},
		{name: "empty", in: "", err: true},
		{name: "unknown charset", in: `<?xml version="1.0" encoding="KOI8-R"?><isComposing><state>idle</state></isComposing>`, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIsComposing([]byte(tc.in))
			if tc.err {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("got %+v, %v; want ErrMalformed", got, err)
				}
				return
			}
			if err != nil || !sameComposing(got, tc.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestIsComposingMarshal(t *testing.T) {
	ic := IsComposing{State: ComposingActive, ContentType: "text/plain", Refresh: 90 * time.Second}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">
  <state>active</state>
  <contenttype>text/plain</contenttype>
  <refresh>90</refresh>
</isComposing>
`
	if got := string(ic.Marshal()); got != want {
		t.Errorf("Marshal:\n%s\nwant:\n%s", got, want)
	}
	if got, _ := ParseIsComposing(IsComposing{}.Marshal()); got.State != ComposingIdle {
		t.Errorf("zero value marshals to state %q, want idle", got.State)
	}
}

func sameComposing(a, b IsComposing) bool {
	return a.State == b.State && a.ContentType == b.ContentType && a.Refresh == b.Refresh && a.LastActive.Equal(b.LastActive)
}

func FuzzParseIsComposing(f *testing.F) {
	root := os.Getenv("FRONTDESK_CORPUS")
	if root == "" {
		root = filepath.Join("..", "..", "shared", "corpus")
	}
	files, _ := filepath.Glob(filepath.Join(root, "message", "*.xml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add(IsComposing{State: ComposingActive, ContentType: "text/plain", Refresh: time.Minute, LastActive: time.Unix(1e9, 5)}.Marshal())
	f.Add([]byte(`<isComposing><state>idle</state><contenttype>a&amp;b</contenttype></isComposing>`))
	f.Add([]byte(`<?xml version="1.0" encoding="latin1"?><isComposing><state>active</state></isComposing>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ic, err := ParseIsComposing(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not ErrMalformed: %v", err)
			}
			return
		}
		if ic.State != ComposingActive && ic.State != ComposingIdle {
			t.Fatalf("state %q", ic.State)
		}
		again, err := ParseIsComposing(ic.Marshal())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", ic.Marshal(), err)
		}
		if !sameComposing(ic, again) {
			t.Fatalf("round trip: %+v -> %+v", ic, again)
		}
	})
}

func TestEnums(t *testing.T) {
	check := func(name string, parse func(string) (string, error), all []string) {
		for _, s := range all {
			got, err := parse(s)
			if err != nil || got != s {
				t.Errorf("%s(%q) = %q, %v", name, s, got, err)
			}
		}
		for _, bad := range []string{"", "Delivered", "bogus"} {
			if got, err := parse(bad); err == nil || got != "" {
				t.Errorf("%s(%q) = %q, %v; want Unknown and an error", name, bad, got, err)
			}
		}
	}
	wrap := func(p func(string) (fmt.Stringer, error)) func(string) (string, error) {
		return func(s string) (string, error) { v, err := p(s); return v.String(), err }
	}
	check("ParseEventKind", wrap(func(s string) (fmt.Stringer, error) { return ParseEventKind(s) }),
		[]string{"message", "delivery", "typing", "ended"})
	check("ParseDeliveryState", wrap(func(s string) (fmt.Stringer, error) { return ParseDeliveryState(s) }),
		[]string{"delivered", "failed"})
	check("ParseFailReason", wrap(func(s string) (fmt.Stringer, error) { return ParseFailReason(s) }),
		[]string{"offline", "rejected", "timeout", "too-long", "rate-limited", "empty", "busy", "bad-contact", "ended", "shutdown", "error"})
	check("ParseComposingState", wrap(func(s string) (fmt.Stringer, error) { return ParseComposingState(s) }),
		[]string{"active", "idle"})

	for err, want := range map[error]FailReason{
		fmt.Errorf("x: %w", ErrTooLong): ReasonTooLong, ErrRateLimited: ReasonRateLimited, ErrEmpty: ReasonEmpty,
		ErrAgentBusy: ReasonBusy, ErrUnknownToken: ReasonEnded, ErrBadContact: ReasonBadContact, errors.New("?"): ReasonError,
	} {
		if got := ReasonOf(err); got != want {
			t.Errorf("ReasonOf(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestNormalizeAOR(t *testing.T) {
	for in, want := range map[string]string{
		"sip:101@PBX.Example.com":                      "101@pbx.example.com",
		"Agent <sips:Bob@pbx.test:5061;transport=tls>": "Bob@pbx.test", // user parts are case-sensitive
		"sip:101@[2001:db8::1]:5060":                   "101@[2001:db8::1]",
		"sip:pbx.test":                                 "pbx.test",
		"sip:frontdesk+k7x2q9@pbx.test?subject=x":      "frontdesk+k7x2q9@pbx.test",
		"":          "",
		"sip:user@": "",
	} {
		if got := normalizeAOR(in); got != want {
			t.Errorf("normalizeAOR(%q) = %q, want %q", in, got, want)
		}
	}
}
