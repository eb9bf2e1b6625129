package presence

import "strings"

// xpidfStatus reads an XPIDF document (the pre-PIDF format chan_sip, PJSIP
// and FreeSWITCH still send to Polycom and other old phones):
//
//	<atom><address><status status="open|closed|inuse"/>
//	<msnsubstatus substatus="onthephone|away|…"/></address></atom>
//
// Any open or in-use address makes the presentity open. FreeSWITCH's Polycom
// variant adds a second, attribute-less <status> holding a <note>; that one
// only supplies the note.
func xpidfStatus(root *node) Status {
	var st Status
	anyOpen, anyClosed := false, false
	root.walk(func(n *node) {
		switch n.name.Local {
		case "status":
			if !n.hasAttr("status") {
				return
			}
			switch strings.ToLower(strings.TrimSpace(n.attrValue("status"))) {
			case "open":
				anyOpen = true
			case "inuse":
				anyOpen = true
				st.Busy = true
			case "closed":
				anyClosed = true
			}
		case "msnsubstatus":
			applyMSNSubstatus(&st, n.attrValue("substatus"))
		case "note":
			if st.Note == "" {
				st.Note = strings.TrimSpace(n.text)
			}
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

// applyMSNSubstatus maps the MSN substatus values onto Busy and Away.
func applyMSNSubstatus(st *Status, sub string) {
	switch strings.ToLower(strings.TrimSpace(sub)) {
	case "onthephone", "busy":
		st.Busy = true
	case "away", "berightback", "outtolunch", "idle":
		st.Away = true
	}
}
