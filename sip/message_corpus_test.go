package sip

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
)

// messageCorpusDirs are the MESSAGE vectors: the repository's own copy
// (testdata/message) and, when present, corpus/message of the shared SIP
// corpus ($FRONTDESK_CORPUS, or ../shared/corpus next to the module root),
// which may hold more.
func messageCorpusDirs(t testing.TB) []string {
	t.Helper()
	dirs := []string{filepath.Join("testdata", "message")}
	root := os.Getenv("FRONTDESK_CORPUS")
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for dir := wd; root == "" && filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = filepath.Join(dir, "..", "shared", "corpus")
			}
		}
	}
	if shared := filepath.Join(root, "message"); root != "" {
		if _, err := os.Stat(shared); err == nil {
			dirs = append(dirs, shared)
		}
	}
	return dirs
}

// Every MESSAGE vector goes through the UA's MESSAGE decoding:
// full messages through the SIP parser and incomingMessage, bodies through
// DecodeMessageBody as isComposing documents.
func TestCorpusMessages(t *testing.T) {
	for _, dir := range messageCorpusDirs(t) {
		t.Run(dir, func(t *testing.T) { testCorpusMessages(t, dir) })
	}
}

func testCorpusMessages(t *testing.T, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]IncomingMessage{
		// Content-Length 276 with 281 bytes following: the body is cut at
		// 276; the empty To tag does not matter.
		"sipserver-message-textplain-xml-body-pn-params-empty-totag.txt": {
			From: "sip:lollol-labo-ms-tft1@11.11.111.111", FromDisplay: "MS TFT",
			To: "sip:lollol-labo-iphone4s@22.22.22.222", RequestURI: "sip:lollol.iphone@22.22.222.222",
			ContentType: "text/plain", Charset: "utf-8",
		},
	}
	seen := 0
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(e.Name(), func(t *testing.T) {
			if strings.HasSuffix(e.Name(), ".xml") {
				out, ok := DecodeMessageBody(ContentTypeIsComposing, "", raw)
				if !ok || !bytes.Equal(out, raw) {
					t.Errorf("isComposing body refused or changed (ok=%v)", ok)
				}
				return
			}
			w, known := want[e.Name()]
			if !known {
				t.Fatalf("corpus file has no expectation")
			}
			seen++
			msg, err := sip.ParseMessage(raw)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			got, code, reason := incomingMessage(msg.(*sip.Request))
			if code != 0 {
				t.Fatalf("refused with %d %s", code, reason)
			}
			if got.From != w.From || got.FromDisplay != w.FromDisplay || got.To != w.To || got.RequestURI != w.RequestURI ||
				got.ContentType != w.ContentType || got.Charset != w.Charset {
				t.Errorf("got %+v\nwant %+v", got, w)
			}
			// The header's length wins: the last bytes of the XML are cut.
			if len(got.Body) != 276 || !bytes.HasPrefix(got.Body, []byte("<?xml")) || !bytes.HasSuffix(got.Body, []byte("</VDUCMediaConfig")) {
				t.Errorf("body %d bytes: %q", len(got.Body), got.Body)
			}
		})
	}
	if seen != len(want) {
		t.Errorf("%d of %d expected corpus messages found", seen, len(want))
	}
}

func FuzzIncomingMessageBody(f *testing.F) {
	for _, seed := range []struct {
		ctype string
		body  []byte
	}{
		{"text/plain;charset=UTF-8", []byte("hello")},
		{"text/plain; charset=ISO-8859-1", []byte("caf\xe9")},
		{"text/plain", []byte("bad \xff\xfe utf8")},
		{"application/im-iscomposing+xml", []byte(`<isComposing><state>active</state></isComposing>`)},
		{"Text/Plain;Charset=\"us-ascii\"", []byte("quoted charset")},
		{"image/png", []byte{0x89, 'P', 'N', 'G'}},
		{"text/plain;charset=utf-16", []byte{0xff, 0xfe, 'h', 0}},
	} {
		f.Add(seed.ctype, seed.body)
	}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		mt := mediaType(ctype)
		cs := strings.ToLower(strings.Trim(contentParam(ctype, "charset"), `" `))
		out, ok := DecodeMessageBody(mt, cs, body)
		if !ok {
			if out != nil {
				t.Fatal("refused body returned content")
			}
			return
		}
		if len(body) > MaxMessageBody {
			t.Fatalf("accepted %d bytes", len(body))
		}
		switch mt {
		case ContentTypeText:
			if !utf8.Valid(out) {
				t.Fatalf("text body not valid UTF-8: %q", out)
			}
			if utf8.Valid(body) && (cs == "" || cs == "utf-8" || cs == "utf8") && !bytes.Equal(out, body) {
				t.Fatalf("valid UTF-8 changed: %q -> %q", body, out)
			}
			if strings.HasPrefix(cs, "iso") || strings.HasPrefix(cs, "latin") {
				if n := utf8.RuneCount(out); n != len(body) {
					t.Fatalf("latin-1: %d bytes became %d runes", len(body), n)
				}
			}
		case ContentTypeIsComposing:
			if !bytes.Equal(out, body) {
				t.Fatal("isComposing body changed")
			}
		default:
			t.Fatalf("accepted media type %q", mt)
		}
	})
}
