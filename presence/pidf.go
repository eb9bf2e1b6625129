package presence

import (
	"fmt"
	"mime"
	"strings"
)

// Namespaces of presence documents.
const (
	nsPIDF      = "urn:ietf:params:xml:ns:pidf"
	nsCPIMPIDF  = "urn:ietf:params:xml:ns:cpim-pidf" // pre-RFC 3863 drafts
	nsDataModel = "urn:ietf:params:xml:ns:pidf:data-model"
)

// Content types ParsePresence accepts.
const (
	ContentTypePIDF     = "application/pidf+xml"
	ContentTypeXPIDF    = "application/xpidf+xml"
	ContentTypeCPIMPIDF = "application/cpim-pidf+xml"
)

// ParsePresence parses a presence body of the given Content-Type. The root
// element decides between PIDF and XPIDF, whatever the type says, because
// PBXs send either under application/cpim-pidf+xml.
func ParsePresence(contentType string, body []byte) (Status, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return Status{}, fmt.Errorf("presence content type %q: %w", contentType, ErrContentType)
	}
	switch mt {
	case ContentTypePIDF, ContentTypeXPIDF, ContentTypeCPIMPIDF:
	default:
		return Status{}, fmt.Errorf("presence content type %q: %w", mt, ErrContentType)
	}
	root, err := parseTree(body)
	if err != nil {
		return Status{}, fmt.Errorf("parse %s: %w", mt, err)
	}
	if root.name.Local != "presence" {
		return Status{}, fmt.Errorf("parse %s: root <%s>, want <presence>: %w", mt, root.name.Local, ErrMalformed)
	}
	if isXPIDF(root) {
		return xpidfStatus(root), nil
	}
	return pidfStatus(root), nil
}

// isXPIDF tells an XPIDF document (no namespace, <atom>/<presentity>) from
// PIDF.
func isXPIDF(root *node) bool {
	if root.name.Space == nsPIDF || root.name.Space == nsCPIMPIDF {
		return false
	}
	for _, k := range root.kids {
		if k.name.Local == "atom" || k.name.Local == "presentity" {
			return true
		}
	}
	return false
}

// inPIDF reports whether n is in the PIDF vocabulary; documents without any
// namespace are read as if they had the PIDF one.
func inPIDF(n *node) bool {
	s := n.name.Space
	return s == nsPIDF || s == nsCPIMPIDF || s == ""
}

// pidfStatus reads basic from the tuples (any open tuple makes the presentity
// open; tuples without <basic>, such as Asterisk's digium-presence, count
// for nothing), activities from anywhere, and the first note.
func pidfStatus(root *node) Status {
	var st Status
	anyOpen, anyClosed := false, false
	root.walk(func(n *node) {
		switch {
		case n.name.Local == "tuple" && inPIDF(n):
			switch tupleBasic(n) {
			case BasicOpen:
				anyOpen = true
			case BasicClosed:
				anyClosed = true
			}
		case n.name.Local == "activities" && isRPID(n.name.Space):
			for _, a := range n.kids {
				applyActivity(&st, activityName(a))
			}
		case n.name.Local == "note" && (inPIDF(n) || n.name.Space == nsDataModel):
			if st.Note == "" {
				st.Note = strings.TrimSpace(n.text)
			}
		case n.name.Local == "digium_presence":
			applyDigiumPresence(&st, n.attrValue("type"))
		}
	})
	switch {
	case anyOpen:
		st.Basic = BasicOpen
	case anyClosed:
		st.Basic = BasicClosed
	}
	return st
}

// tupleBasic returns the <status><basic> of one tuple.
func tupleBasic(t *node) Basic {
	for _, s := range t.kids {
		if s.name.Local != "status" || !inPIDF(s) {
			continue
		}
		for _, b := range s.kids {
			if b.name.Local == "basic" && inPIDF(b) {
				return parseBasic(b.text)
			}
		}
	}
	return BasicUnknown
}

func parseBasic(s string) Basic {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "open":
		return BasicOpen
	case "closed":
		return BasicClosed
	}
	return BasicUnknown
}

// isRPID accepts RFC 4480's namespace and the draft ones still sent by
// chan_sip ("…:pidf:rpid:rpid-person") and AudioCodes
// ("…:pidf:status:rpid-status").
func isRPID(space string) bool {
	return strings.HasPrefix(space, "urn:ietf:params:xml:ns:pidf") && strings.Contains(space, "rpid")
}

// activityName is the activity an element of <activities> stands for: its
// name (<rpid:on-the-phone/>), or its text for the draft form
// <ep:activity>on-the-phone</ep:activity>.
func activityName(n *node) string {
	if n.name.Local == "activity" {
		return strings.ToLower(strings.TrimSpace(n.text))
	}
	return n.name.Local
}

// applyActivity maps RPID activities onto Busy and Away. Busy means at work
// but occupied (try again soon); Away means not reachable at the desk for
// a while. "appointment" is read like "meeting"; travel is read as away.
func applyActivity(st *Status, activity string) {
	switch activity {
	case "on-the-phone", "busy", "meeting", "appointment", "performance", "presentation":
		st.Busy = true
	case "away", "vacation", "holiday", "sleeping", "permanent-absence",
		"in-transit", "travel", "steering", "meal", "breakfast", "lunch", "dinner":
		st.Away = true
	}
}

// applyDigiumPresence reads Asterisk's presence-state supplement
// (<digium_presence type="away">). "dnd" rejects calls, which a visitor
// best sees as busy.
func applyDigiumPresence(st *Status, typ string) {
	switch strings.ToLower(strings.TrimSpace(typ)) {
	case "away", "xa", "unavailable":
		st.Away = true
	case "dnd":
		st.Busy = true
	}
}
