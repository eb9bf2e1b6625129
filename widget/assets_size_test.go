package widget

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// maxWidgetGzip bounds everything a browser downloads for the widget: the
// script with its stylesheet inlined (pictures are separate data: URLs).
const maxWidgetGzip = 30 * 1024

func TestWidgetScriptSize(t *testing.T) {
	js, err := widgetScript()
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
	// stripLineComments relies on it: no line of a template literal can
	// look like a comment.
	if bytes.ContainsRune(js, '`') {
		t.Error("the widget script has a template literal; stripLineComments cannot serve it safely")
	}
	t.Logf("widget script: %d bytes, %d bytes gzipped (limit %d)", len(js), buf.Len(), maxWidgetGzip)
	if buf.Len() > maxWidgetGzip {
		t.Errorf("widget script is %d bytes gzipped, over the %d byte budget", buf.Len(), maxWidgetGzip)
	}
}
