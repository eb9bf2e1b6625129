package eventlist

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// vector reads a testdata file: a Content-Type line, a blank line, the body.
func vector(t testing.TB, name string) (string, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := bytes.Cut(data, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("%s: no blank line after the Content-Type", name)
	}
	return strings.TrimPrefix(string(head), "Content-Type: "), body
}

func vectors(t testing.TB) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

func TestParseKamailioFullState(t *testing.T) {
	ct, body := vector(t, "kamailio-rls-full-reconstructed.txt")
	n, err := Parse(ct, body, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if n.URI != "sip:agents@frontdesk.test" || n.Version != 1 || !n.FullState || len(n.Resources) != 4 {
		t.Fatalf("list %+v", n)
	}
	alice := n.Resources[0]
	if alice.URI != "sip:alice@frontdesk.test" || len(alice.Instances) != 1 {
		t.Fatalf("alice %+v", alice)
	}
	if in := alice.Instances[0]; in.State != StateActive || in.ContentType != "application/pidf+xml" ||
		!bytes.Contains(in.Body, []byte("<basic>open</basic>")) || bytes.HasSuffix(in.Body, []byte("\r\n")) {
		t.Errorf("alice's instance %+v", in)
	}
	if in := n.Resources[1].Instances[0]; in.State != StatePending || in.Body != nil {
		t.Errorf("bob's instance %+v", in)
	}
	if len(n.Resources[2].Instances) != 0 {
		t.Errorf("carol %+v, want no instance", n.Resources[2])
	}
	if in := n.Resources[3].Instances[0]; in.State != StateTerminated || in.Reason != "rejected" {
		t.Errorf("dave's instance %+v", in)
	}
}

func TestParsePartialWithoutStart(t *testing.T) {
	ct, body := vector(t, "asterisk-style-partial-dialog-reconstructed.txt")
	n, err := Parse(ct, body, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if n.FullState || n.Version != 4 || len(n.Resources) != 1 {
		t.Fatalf("list %+v", n)
	}
	if in := n.Resources[0].Instances[0]; in.ContentType != "application/dialog-info+xml" || !bytes.Contains(in.Body, []byte("confirmed")) {
		t.Errorf("instance %+v", in)
	}
}

func TestParseNestedAndBase64(t *testing.T) {
	ct, body := vector(t, "nested-sublist-base64.txt")
	n, err := Parse(ct, body, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range n.Resources {
		uris = append(uris, r.URI)
	}
	if want := []string{"sip:carol@example.test", "sip:night@example.test", "sip:erin@example.test"}; !reflect.DeepEqual(uris, want) {
		t.Fatalf("resources %v, want %v", uris, want)
	}
	if in := n.Resources[0].Instances[0]; !bytes.Contains(in.Body, []byte("<basic>closed</basic>")) {
		t.Errorf("base64 part of carol: %q", in.Body)
	}
	if in := n.Resources[2].Instances[0]; in.State != StateActive || in.Body != nil || in.ContentType != "" {
		t.Errorf("erin's instance names a missing part: %+v, want no document", in)
	}
}

func TestParseRefuses(t *testing.T) {
	ct, body := vector(t, "kamailio-rls-full-reconstructed.txt")
	nested, nestedBody := vector(t, "nested-sublist-base64.txt")
	many := &Notification{URI: "sip:l@x", FullState: true}
	for i := range 20 {
		many.Resources = append(many.Resources, Resource{URI: fmt.Sprintf("sip:a%d@x", i),
			Instances: []Instance{{ID: "1", State: StateActive, ContentType: "application/pidf+xml", Body: []byte("<presence/>")}}})
	}
	manyCT, manyBody := many.Marshal("b0undary")
	small := Limits{MaxBody: 1 << 20, MaxParts: 10, MaxResources: 100, MaxInstances: 4}
	tests := []struct {
		name  string
		ct    string
		body  []byte
		lim   Limits
		want  error
		wants string
	}{
		{name: "not multipart", ct: "application/pidf+xml", body: body, lim: DefaultLimits, want: ErrContentType},
		{name: "no boundary", ct: "multipart/related", body: body, lim: DefaultLimits, want: ErrContentType},
		{name: "other root type", ct: `multipart/related;type="text/html";boundary=ufgpRJmB`, body: body, lim: DefaultLimits, want: ErrContentType},
		{name: "start names no part", ct: `multipart/related;type="application/rlmi+xml";start="<nope@x>";boundary=ufgpRJmB`, body: body, lim: DefaultLimits, want: ErrNoRoot},
		{name: "start names a pidf part", ct: `multipart/related;start="<nQwDbtOR@frontdesk.test>";boundary=ufgpRJmB`, body: body, lim: DefaultLimits, want: ErrContentType},
		{name: "body too large", ct: ct, body: body, lim: Limits{MaxBody: 100, MaxParts: 10, MaxResources: 10, MaxInstances: 4}, want: ErrTooLarge},
		{name: "too many parts", ct: manyCT, body: manyBody, lim: small, want: ErrTooLarge},
		{name: "too many resources", ct: manyCT, body: manyBody, lim: Limits{MaxBody: 1 << 20, MaxParts: 100, MaxResources: 5, MaxInstances: 4}, want: ErrTooLarge},
		{name: "one sub-list", ct: nested, body: nestedBody, lim: DefaultLimits, want: nil},
		{name: "doctype", ct: ct, body: bytes.Replace(body, []byte(`<?xml version="1.0"?>`+"\n<list"), []byte(`<!DOCTYPE list [<!ENTITY x "y">]><list`), 1), lim: DefaultLimits, want: ErrMalformed},
		{name: "bad state", ct: ct, body: bytes.Replace(body, []byte(`state="pending"`), []byte(`state="sleepy"`), 1), lim: DefaultLimits, want: ErrMalformed},
		{name: "wrong root element", ct: ct, body: bytes.ReplaceAll(body, []byte("list"), []byte("lust")), lim: DefaultLimits, want: ErrMalformed},
		{name: "unknown transfer encoding", ct: ct, body: bytes.Replace(body, []byte("Content-Transfer-Encoding: binary\r\nContent-ID: <nQw"), []byte("Content-Transfer-Encoding: x-gzip\r\nContent-ID: <nQw"), 1), lim: DefaultLimits, want: ErrMalformed},
		{name: "truncated", ct: ct, body: body[:len(body)/2], lim: DefaultLimits, want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.ct, tt.body, tt.lim)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse error %v, want %v", err, tt.want)
			}
		})
	}
}

// TestNestingBounded: a list nested MaxDepth-1 deep is read, one level more
// is refused.
func TestNestingBounded(t *testing.T) {
	ct, body := vector(t, "nested-sublist-base64.txt") // two levels
	for i := range MaxDepth - 1 {
		b := fmt.Sprintf("wrap%d", i)
		inner := fmt.Sprintf("--%s\r\nContent-Type: application/rlmi+xml\r\nContent-ID: <r@w>\r\n\r\n"+
			`<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="sip:w@x" version="1" fullState="true"><resource uri="sip:in@x"><instance id="1" state="active" cid="in@w"/></resource></list>`+
			"\r\n--%s\r\nContent-Type: %s\r\nContent-ID: <in@w>\r\n\r\n%s\r\n--%s--", b, b, ct, body, b)
		ct, body = `multipart/related;type="application/rlmi+xml";boundary=`+b, []byte(inner)
		_, err := Parse(ct, body, DefaultLimits)
		switch depth := i + 3; {
		case depth <= MaxDepth && err != nil:
			t.Fatalf("%d levels: %v", depth, err)
		case depth > MaxDepth && !errors.Is(err, ErrTooLarge):
			t.Fatalf("%d levels: %v, want ErrTooLarge", depth, err)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, name := range vectors(t) {
		ct, body := vector(t, name)
		n, err := Parse(ct, body, DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		mct, mbody := n.Marshal("rt-boundary-1")
		back, err := Parse(mct, mbody, DefaultLimits)
		if err != nil {
			t.Fatalf("%s: parse of marshalled: %v\n%s", name, err, mbody)
		}
		if !sameNotification(n, back) {
			t.Errorf("%s: round trip\n%+v\n%+v", name, n, back)
		}
	}
}

// sameNotification compares two parsed notifications, an empty body
// counting as none.
func sameNotification(a, b *Notification) bool {
	if a.URI != b.URI || a.Version != b.Version || a.FullState != b.FullState || len(a.Resources) != len(b.Resources) {
		return false
	}
	for i := range a.Resources {
		ra, rb := a.Resources[i], b.Resources[i]
		if ra.URI != rb.URI || len(ra.Instances) != len(rb.Instances) {
			return false
		}
		for j := range ra.Instances {
			ia, ib := ra.Instances[j], rb.Instances[j]
			if ia.ID != ib.ID || ia.State != ib.State || ia.Reason != ib.Reason || ia.ContentType != ib.ContentType || !bytes.Equal(ia.Body, ib.Body) {
				return false
			}
		}
	}
	return true
}

// TestParseKamailioTrace: what Kamailio 5.6's rls module really sent.
func TestParseKamailioTrace(t *testing.T) {
	ct, body := vector(t, "kamailio-5.6-rls-partial-trace.txt")
	n, err := Parse(ct, body, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if n.URI != "sip:agents@frontdesk.test" || n.FullState || n.Version != 9 || len(n.Resources) != 1 {
		t.Fatalf("list %+v", n)
	}
	in := n.Resources[0].Instances[0]
	if n.Resources[0].URI != "sip:agent000@frontdesk.test" || in.State != StateActive || in.ContentType != "application/pidf+xml" ||
		!bytes.Contains(in.Body, []byte("sip:agent000@frontdesk.test")) {
		t.Errorf("resource %+v", n.Resources[0])
	}
}
