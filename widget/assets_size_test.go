package widget

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// maxWidgetGzip bounds what a browser downloads to show the widget: the
// script with its parts and stylesheet inlined (pictures are separate
// data: URLs). maxCallPartGzip bounds the call part it loads on the first
// call.
const (
	maxWidgetGzip   = 30 * 1024
	maxCallPartGzip = 10 * 1024
	maxWaitPartGzip = 4 * 1024
)

func TestWidgetScriptSize(t *testing.T) {
	for _, s := range []struct {
		name   string
		script func() ([]byte, error)
		limit  int
	}{{"widget script", widgetScript, maxWidgetGzip}, {"call part", callScript, maxCallPartGzip}, {"wait part", waitScript, maxWaitPartGzip}} {
		js, err := s.script()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write(js); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		// stripLineComments relies on it: no line of a template literal
		// can look like a comment.
		if bytes.ContainsRune(js, '`') {
			t.Errorf("the %s has a template literal; stripLineComments cannot serve it safely", s.name)
		}
		t.Logf("%s: %d bytes, %d bytes gzipped (limit %d)", s.name, len(js), buf.Len(), s.limit)
		if buf.Len() > s.limit {
			t.Errorf("%s is %d bytes gzipped, over the %d byte budget", s.name, buf.Len(), s.limit)
		}
	}
}
