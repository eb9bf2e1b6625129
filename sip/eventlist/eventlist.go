package eventlist

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strconv"
	"strings"
)

// Media types of resource list bodies.
const (
	ContentTypeMultipart = "multipart/related"
	ContentTypeRLMI      = "application/rlmi+xml"
)

// MaxDepth bounds how deep sub-lists nest.
const MaxDepth = 3

// Limits bound what Parse reads.
type Limits struct {
	MaxBody      int // bytes of the whole body
	MaxParts     int // MIME parts, all levels together
	MaxResources int // resources, all levels together
	MaxInstances int // instances of one resource
}

// DefaultLimits suit a list of a few thousand agents.
var DefaultLimits = Limits{MaxBody: 1 << 20, MaxParts: 4096, MaxResources: 4096, MaxInstances: 16}

// Instance states (RFC 4662 5.2).
const (
	StateActive     = "active"
	StatePending    = "pending"
	StateTerminated = "terminated"
)

// Notification is one resource list NOTIFY body.
type Notification struct {
	URI       string // the list's URI
	Version   int    // increments with every NOTIFY of the subscription
	FullState bool   // false: only changed resources are listed
	Resources []Resource
}

// Resource is one entry of the list.
type Resource struct {
	URI       string
	Instances []Instance // none: no state known yet
}

// Instance is one subscription the list server holds for a resource.
type Instance struct {
	ID     string
	State  string // StateActive, StatePending or StateTerminated
	Reason string // with StateTerminated: rejected, noresource, timeout, …
	// ContentType (without parameters, lower case) and Body are the
	// instance's document; empty when the RLMI names none (pending,
	// terminated) or no part has its Content-ID.
	ContentType string
	Body        []byte
}

// Parse reads a resource list NOTIFY body of the given Content-Type.
func Parse(contentType string, body []byte, lim Limits) (*Notification, error) {
	if len(body) > lim.MaxBody {
		return nil, fmt.Errorf("body of %d bytes, at most %d: %w", len(body), lim.MaxBody, ErrTooLarge)
	}
	p := &parser{lim: lim}
	n, err := p.list(contentType, body, 0)
	if err != nil {
		return nil, err
	}
	return n, nil
}

type parser struct {
	lim       Limits
	parts     int
	resources int
}

type part struct {
	contentType string // media type, lower case
	params      map[string]string
	body        []byte
}

// list reads one multipart/related list body; sub-lists are read into it.
func (p *parser) list(contentType string, body []byte, depth int) (*Notification, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != ContentTypeMultipart || params["boundary"] == "" {
		return nil, fmt.Errorf("content type %q: %w", contentType, ErrContentType)
	}
	if t := params["type"]; t != "" && !strings.EqualFold(t, ContentTypeRLMI) {
		return nil, fmt.Errorf("root type %q: %w", t, ErrContentType)
	}
	parts, order, err := p.readParts(body, params["boundary"])
	if err != nil {
		return nil, err
	}
	var root *part
	if start := cid(params["start"]); start != "" {
		root = parts[start]
	} else if len(order) > 0 {
		root = order[0]
	}
	if root == nil {
		return nil, ErrNoRoot
	}
	if root.contentType != ContentTypeRLMI {
		return nil, fmt.Errorf("root part %s: %w", root.contentType, ErrContentType)
	}
	doc, err := parseRLMI(root.body)
	if err != nil {
		return nil, err
	}
	n := &Notification{URI: strings.TrimSpace(doc.URI), Version: doc.Version, FullState: doc.FullState}
	for _, r := range doc.Resources {
		if p.resources++; p.resources > p.lim.MaxResources {
			return nil, fmt.Errorf("more than %d resources: %w", p.lim.MaxResources, ErrTooLarge)
		}
		if len(r.Instances) > p.lim.MaxInstances {
			return nil, fmt.Errorf("resource %s has %d instances, at most %d: %w", r.URI, len(r.Instances), p.lim.MaxInstances, ErrTooLarge)
		}
		res := Resource{URI: strings.TrimSpace(r.URI)}
		for _, in := range r.Instances {
			inst := Instance{ID: in.ID, State: strings.ToLower(strings.TrimSpace(in.State)), Reason: strings.ToLower(strings.TrimSpace(in.Reason))}
			switch inst.State {
			case StateActive, StatePending, StateTerminated:
			default:
				return nil, fmt.Errorf("instance %q of %s: state %q: %w", in.ID, r.URI, in.State, ErrMalformed)
			}
			if pt := parts[cid(in.CID)]; pt != nil && in.CID != "" {
				if pt.contentType == ContentTypeMultipart {
					if depth+1 >= MaxDepth {
						return nil, fmt.Errorf("lists nested deeper than %d: %w", MaxDepth, ErrTooLarge)
					}
					sub, err := p.list(mime.FormatMediaType(pt.contentType, pt.params), pt.body, depth+1)
					if err != nil {
						return nil, fmt.Errorf("sub-list %s: %w", r.URI, err)
					}
					n.Resources = append(n.Resources, sub.Resources...)
				} else {
					inst.ContentType, inst.Body = pt.contentType, pt.body
				}
			}
			res.Instances = append(res.Instances, inst)
		}
		n.Resources = append(n.Resources, res)
	}
	return n, nil
}

// readParts reads the parts of a multipart body by Content-ID, and in
// order.
func (p *parser) readParts(body []byte, boundary string) (map[string]*part, []*part, error) {
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	byID := map[string]*part{}
	var order []*part
	for {
		mp, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read part: %v: %w", err, ErrMalformed)
		}
		if p.parts++; p.parts > p.lim.MaxParts {
			return nil, nil, fmt.Errorf("more than %d parts: %w", p.lim.MaxParts, ErrTooLarge)
		}
		data, err := io.ReadAll(io.LimitReader(mp, int64(p.lim.MaxBody)+1))
		if err != nil {
			return nil, nil, fmt.Errorf("read part: %v: %w", err, ErrMalformed)
		}
		if len(data) > p.lim.MaxBody {
			return nil, nil, fmt.Errorf("part over %d bytes: %w", p.lim.MaxBody, ErrTooLarge)
		}
		pt, err := decodePart(mp.Header, data)
		if err != nil {
			return nil, nil, err
		}
		order = append(order, pt)
		if id := cid(mp.Header.Get("Content-ID")); id != "" {
			if _, dup := byID[id]; !dup {
				byID[id] = pt
			}
		}
	}
	return byID, order, nil
}

func decodePart(h textproto.MIMEHeader, data []byte) (*part, error) {
	pt := &part{contentType: "text/plain"}
	if ct := h.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, fmt.Errorf("part content type %q: %w", ct, ErrMalformed)
		}
		pt.contentType, pt.params = mt, params
	}
	switch enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))); enc {
	case "", "binary", "8bit", "7bit":
		pt.body = data
	case "base64":
		dec, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(data), nil)))
		if err != nil {
			return nil, fmt.Errorf("base64 part: %v: %w", err, ErrMalformed)
		}
		pt.body = dec
	default:
		return nil, fmt.Errorf("transfer encoding %q: %w", enc, ErrMalformed)
	}
	return pt, nil
}

// cid strips the angle brackets of a Content-ID (and of a cid: URL).
func cid(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "cid:")
	v = strings.TrimPrefix(v, "<")
	v = strings.TrimSuffix(v, ">")
	return strings.TrimSpace(v)
}

// rlmiList is an RLMI document (RFC 4662 5.2).
type rlmiList struct {
	URI       string         `xml:"uri,attr"`
	Version   int            `xml:"version,attr"`
	FullState bool           `xml:"fullState,attr"`
	Resources []rlmiResource `xml:"resource"`
}

type rlmiResource struct {
	URI       string         `xml:"uri,attr"`
	Instances []rlmiInstance `xml:"instance"`
}

type rlmiInstance struct {
	ID     string `xml:"id,attr"`
	State  string `xml:"state,attr"`
	Reason string `xml:"reason,attr"`
	CID    string `xml:"cid,attr"`
}

func parseRLMI(body []byte) (*rlmiList, error) {
	if bytes.Contains(body, []byte("<!DOCTYPE")) {
		return nil, fmt.Errorf("RLMI with a DOCTYPE: %w", ErrMalformed)
	}
	var doc struct {
		XMLName xml.Name
		rlmiList
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("RLMI: %v: %w", err, ErrMalformed)
	}
	if doc.XMLName.Local != "list" {
		return nil, fmt.Errorf("RLMI root <%s>, want <list>: %w", doc.XMLName.Local, ErrMalformed)
	}
	if doc.Version < 0 {
		return nil, fmt.Errorf("RLMI version %d: %w", doc.Version, ErrMalformed)
	}
	return &doc.rlmiList, nil
}

// Marshal writes n as a multipart/related body with the given boundary and
// returns its Content-Type. Each instance with a document gets a part of
// its own (Content-ID "<resource index>.<instance index>@<boundary>").
func (n *Notification) Marshal(boundary string) (contentType string, body []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	_ = w.SetBoundary(boundary) // callers pass a valid one; tests check
	rootID := "rlmi@" + boundary
	var rlmi bytes.Buffer
	rlmi.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&rlmi, `<list xmlns="urn:ietf:params:xml:ns:rlmi" uri="%s" version="%d" fullState="%t">`, esc(n.URI), n.Version, n.FullState)
	type doc struct {
		id, ctype string
		body      []byte
	}
	var docs []doc
	for i, r := range n.Resources {
		fmt.Fprintf(&rlmi, `<resource uri="%s">`, esc(r.URI))
		for j, in := range r.Instances {
			fmt.Fprintf(&rlmi, `<instance id="%s" state="%s"`, esc(in.ID), esc(in.State))
			if in.Reason != "" {
				fmt.Fprintf(&rlmi, ` reason="%s"`, esc(in.Reason))
			}
			if in.ContentType != "" {
				id := strconv.Itoa(i) + "." + strconv.Itoa(j) + "@" + boundary
				fmt.Fprintf(&rlmi, ` cid="%s"`, esc(id))
				docs = append(docs, doc{id: id, ctype: in.ContentType, body: in.Body})
			}
			rlmi.WriteString(`/>`)
		}
		rlmi.WriteString(`</resource>`)
	}
	rlmi.WriteString("</list>\n")
	writePart(w, rootID, ContentTypeRLMI+`;charset="UTF-8"`, rlmi.Bytes())
	for _, d := range docs {
		writePart(w, d.id, d.ctype, d.body)
	}
	_ = w.Close()
	ct := mime.FormatMediaType(ContentTypeMultipart, map[string]string{
		"type": ContentTypeRLMI, "start": "<" + rootID + ">", "boundary": boundary})
	return ct, b.Bytes()
}

func writePart(w *multipart.Writer, id, ctype string, body []byte) {
	h := textproto.MIMEHeader{}
	h.Set("Content-Transfer-Encoding", "binary")
	h.Set("Content-ID", "<"+id+">")
	h.Set("Content-Type", ctype)
	pw, _ := w.CreatePart(h) // writes to a bytes.Buffer: no error
	_, _ = pw.Write(body)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), `"`, "&#34;")
}
