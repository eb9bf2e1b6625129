package presence

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxBodySize bounds the presence and dialog-info bodies the parsers accept.
// Real documents are well under 4 KiB; the bound keeps a hostile or broken
// PBX from making the gateway parse megabytes per NOTIFY.
const MaxBodySize = 64 << 10

// maxDepth bounds element nesting; PIDF and dialog-info need fewer than ten.
const maxDepth = 32

// node is one element of a parsed document. The parsers read a small tree
// rather than unmarshalling into structs, because real bodies put elements
// in any order and in a variety of namespaces.
type node struct {
	name xml.Name
	attr []xml.Attr
	text string // character data directly inside this element
	kids []*node
}

// attrValue returns the unprefixed attribute local, or "".
func (n *node) attrValue(local string) string {
	for _, a := range n.attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// hasAttr reports whether the unprefixed attribute local is present.
func (n *node) hasAttr(local string) bool {
	for _, a := range n.attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return true
		}
	}
	return false
}

// walk calls fn for n and every descendant in document order.
func (n *node) walk(fn func(*node)) {
	fn(n)
	for _, k := range n.kids {
		k.walk(fn)
	}
}

// checkBody applies the checks common to every body: size, emptiness.
func checkBody(body []byte) ([]byte, error) {
	if len(body) > MaxBodySize {
		return nil, fmt.Errorf("%d bytes, limit %d: %w", len(body), MaxBodySize, ErrTooLarge)
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, ErrEmptyBody
	}
	return body, nil
}

// parseTree decodes body into a tree and returns its root. Content after the
// root element is ignored.
func parseTree(body []byte) (*node, error) {
	body, err := checkBody(body)
	if err != nil {
		return nil, err
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.CharsetReader = charsetReader
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if root == nil {
				return nil, fmt.Errorf("no root element: %w", ErrMalformed)
			}
			return nil, fmt.Errorf("truncated document: %w", ErrMalformed)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			if err := checkDirective(t); err != nil {
				return nil, err
			}
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("nesting deeper than %d: %w", maxDepth, ErrMalformed)
			}
			n := &node{name: t.Name, attr: t.Copy().Attr}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.kids = append(parent.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return root, nil
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
}

// checkDirective accepts a DOCTYPE naming an external DTD (XPIDF's
// "xpidf.dtd", which is never fetched) and rejects an internal subset: entity
// declarations have no business in a NOTIFY body.
func checkDirective(d xml.Directive) error {
	if bytes.ContainsRune(d, '[') || strings.Contains(strings.ToUpper(string(d)), "<!ENTITY") {
		return ErrDoctype
	}
	return nil
}
