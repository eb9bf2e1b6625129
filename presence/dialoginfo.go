package presence

import (
	"fmt"
	"strconv"
	"strings"
)

// nsDialogInfo is the RFC 4235 namespace. Kamailio's dummy document has no
// namespace at all, so the empty one is accepted too.
const nsDialogInfo = "urn:ietf:params:xml:ns:dialog-info"

// ContentTypeDialogInfo is the Content-Type of RFC 4235 bodies.
const ContentTypeDialogInfo = "application/dialog-info+xml"

// ParseDialogInfo parses an application/dialog-info+xml body. Child elements
// may come in any order (Asterisk puts <local> before <state>); unknown
// elements and attributes are ignored. A missing version reads as 0, and a
// missing state attribute as full.
func ParseDialogInfo(body []byte) (DialogInfo, error) {
	root, err := parseTree(body)
	if err != nil {
		return DialogInfo{}, fmt.Errorf("parse dialog-info: %w", err)
	}
	if root.name.Local != "dialog-info" || !inDialogInfo(root) {
		return DialogInfo{}, fmt.Errorf("parse dialog-info: root <%s>: %w", root.name.Local, ErrMalformed)
	}
	version, err := parseVersion(root.attrValue("version"))
	if err != nil {
		return DialogInfo{}, fmt.Errorf("parse dialog-info: %w", err)
	}
	info := DialogInfo{
		Version: version,
		Full:    !strings.EqualFold(strings.TrimSpace(root.attrValue("state")), "partial"),
		Entity:  strings.TrimSpace(root.attrValue("entity")),
	}
	for _, k := range root.kids {
		if k.name.Local != "dialog" || !inDialogInfo(k) {
			continue
		}
		d := Dialog{ID: k.attrValue("id"), Direction: k.attrValue("direction")}
		for _, s := range k.kids {
			if s.name.Local == "state" && inDialogInfo(s) {
				d.State = ParseDialogState(s.text)
				break
			}
		}
		info.Dialogs = append(info.Dialogs, d)
	}
	return info, nil
}

func inDialogInfo(n *node) bool {
	return n.name.Space == nsDialogInfo || n.name.Space == ""
}

// parseVersion reads the root version. Kamailio's aggregation template
// carries the placeholder "00000000000", which is simply 0.
func parseVersion(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("version %q: %w", s, ErrMalformed)
	}
	return int(v), nil
}

// ParseDialogState reads a <state> value; anything unknown is DialogUnknown.
func ParseDialogState(s string) DialogState {
	switch st := DialogState(strings.ToLower(strings.TrimSpace(s))); st {
	case DialogTrying, DialogProceeding, DialogEarly, DialogConfirmed, DialogTerminated:
		return st
	}
	return DialogUnknown
}

// String returns the RFC 4235 name, or "unknown".
func (s DialogState) String() string {
	if s == DialogUnknown {
		return "unknown"
	}
	return string(s)
}

// Active reports whether the dialog keeps its party busy: being set up,
// ringing or in a call.
func (s DialogState) Active() bool {
	switch s {
	case DialogTrying, DialogProceeding, DialogEarly, DialogConfirmed:
		return true
	}
	return false
}
