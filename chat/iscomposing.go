package chat

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// isComposingNS is the RFC 3994 namespace. Parsing ignores namespaces:
// pjsip's documents carry a mismatched schemaLocation and nothing else in a
// MESSAGE body is called isComposing.
const isComposingNS = "urn:ietf:params:xml:ns:im-iscomposing"

// maxIsComposing bounds a document; real ones are a few hundred bytes.
const maxIsComposing = 8 << 10

// IsComposing is an RFC 3994 status message.
type IsComposing struct {
	State       ComposingState
	LastActive  time.Time     // zero when absent
	ContentType string        // what is being composed; "" when absent
	Refresh     time.Duration // active-state refresh interval; 0 when absent
}

// ParseIsComposing reads an application/im-iscomposing+xml body. It needs a
// state of active or idle; unknown elements are skipped and a bad optional
// element is dropped rather than failing the document.
func ParseIsComposing(body []byte) (IsComposing, error) {
	var ic IsComposing
	if len(body) > maxIsComposing {
		return ic, fmt.Errorf("isComposing of %d bytes: %w", len(body), ErrMalformed)
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = charsetReader
	depth, root := 0, false
	var field string
	var text strings.Builder
	for range maxIsComposing { // each token consumes input
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return IsComposing{}, fmt.Errorf("isComposing: %w: %w", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if t.Name.Local != "isComposing" {
					return IsComposing{}, fmt.Errorf("isComposing: root <%s>: %w", t.Name.Local, ErrMalformed)
				}
				root = true
			}
			if depth == 2 {
				field = t.Name.Local
				text.Reset()
			}
		case xml.CharData:
			if depth == 2 && text.Len() < 1024 {
				text.Write(t)
			}
		case xml.EndElement:
			if depth == 2 {
				ic.set(field, strings.TrimSpace(text.String()))
			}
			depth--
		}
	}
	if !root {
		return IsComposing{}, fmt.Errorf("isComposing: no document: %w", ErrMalformed)
	}
	if ic.State == ComposingUnknown {
		return IsComposing{}, fmt.Errorf("isComposing: no state: %w", ErrMalformed)
	}
	return ic, nil
}

func (ic *IsComposing) set(field, v string) {
	switch field {
	case "state":
		if st, err := ParseComposingState(strings.ToLower(v)); err == nil {
			ic.State = st
		}
	case "lastactive":
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			ic.LastActive = t
		}
	case "contenttype":
		if utf8.ValidString(v) && !strings.ContainsAny(v, "<>&") {
			ic.ContentType = v
		}
	case "refresh":
		// Bounded so that a hostile value cannot pin an agent as typing.
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 3600 {
			ic.Refresh = time.Duration(n) * time.Second
		}
	}
}

// Marshal writes ic as an RFC 3994 document; a state other than active is
// written as idle, Refresh in whole seconds (at least 1).
func (ic IsComposing) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<isComposing xmlns="` + isComposingNS + `">` + "\n")
	state := ic.State
	if state != ComposingActive {
		state = ComposingIdle
	}
	b.WriteString("  <state>" + string(state) + "</state>\n")
	if !ic.LastActive.IsZero() {
		b.WriteString("  <lastactive>" + ic.LastActive.UTC().Format(time.RFC3339Nano) + "</lastactive>\n")
	}
	if ic.ContentType != "" {
		b.WriteString("  <contenttype>")
		_ = xml.EscapeText(&b, []byte(ic.ContentType))
		b.WriteString("</contenttype>\n")
	}
	if ic.Refresh > 0 {
		b.WriteString("  <refresh>" + strconv.Itoa(max(1, int(ic.Refresh/time.Second))) + "</refresh>\n")
	}
	b.WriteString("</isComposing>\n")
	return b.Bytes()
}

// charsetReader accepts the charsets a PBX may declare in the prolog.
// Latin-1 maps byte for byte onto the first 256 code points.
func charsetReader(label string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1":
		raw, err := io.ReadAll(io.LimitReader(in, maxIsComposing))
		if err != nil {
			return nil, fmt.Errorf("read latin-1 body: %w", err)
		}
		out := make([]byte, 0, len(raw)*2)
		for _, c := range raw {
			out = utf8.AppendRune(out, rune(c))
		}
		return bytes.NewReader(out), nil
	}
	return nil, fmt.Errorf("charset %q: %w", label, ErrMalformed)
}
