package presence

import (
	"bytes"
	"encoding/xml"
	"strconv"
)

// String returns "open", "closed" or "unknown".
func (b Basic) String() string {
	switch b {
	case BasicOpen:
		return "open"
	case BasicClosed:
		return "closed"
	}
	return "unknown"
}

// MarshalPIDF renders s as a PIDF document with RPID activities for entity,
// the way a phone would PUBLISH it: on-the-phone for Busy, away for Away.
// An unknown Basic yields a tuple without <basic>, which parses back as
// unknown.
func (s Status) MarshalPIDF(entity string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="`)
	escape(&b, entity)
	b.WriteString("\">\n <tuple id=\"t1\"><status>")
	if s.Basic != BasicUnknown {
		b.WriteString("<basic>" + s.Basic.String() + "</basic>")
	}
	b.WriteString("</status></tuple>\n <dm:person id=\"p1\">")
	if s.Busy || s.Away {
		b.WriteString("<rpid:activities>")
		if s.Busy {
			b.WriteString("<rpid:on-the-phone/>")
		}
		if s.Away {
			b.WriteString("<rpid:away/>")
		}
		b.WriteString("</rpid:activities>")
	}
	if s.Note != "" {
		b.WriteString("<dm:note>")
		escape(&b, s.Note)
		b.WriteString("</dm:note>")
	}
	b.WriteString("</dm:person>\n</presence>\n")
	return b.Bytes()
}

// MarshalDialogInfo renders d as an application/dialog-info+xml document, for
// test PBXs that NOTIFY dialog state.
func (d DialogInfo) MarshalDialogInfo() []byte {
	var b bytes.Buffer
	state := "partial"
	if d.Full {
		state = "full"
	}
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="`)
	b.WriteString(strconv.Itoa(d.Version))
	b.WriteString(`" state="` + state + `" entity="`)
	escape(&b, d.Entity)
	b.WriteString("\">\n")
	for _, dl := range d.Dialogs {
		b.WriteString(` <dialog id="`)
		escape(&b, dl.ID)
		b.WriteString(`"`)
		if dl.Direction != "" {
			b.WriteString(` direction="`)
			escape(&b, dl.Direction)
			b.WriteString(`"`)
		}
		b.WriteString("><state>")
		if dl.State != DialogUnknown {
			b.WriteString(string(dl.State))
		}
		b.WriteString("</state></dialog>\n")
	}
	b.WriteString("</dialog-info>\n")
	return b.Bytes()
}

// escape writes s as XML text or attribute content; characters XML cannot
// carry become U+FFFD.
func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // bytes.Buffer writes do not fail
}
