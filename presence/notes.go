package presence

import "strings"

// busyNotes begin the notes PBXs put into the presence document of a phone
// in use: Asterisk "On the phone", "Ringing", "On hold"; FreeSWITCH "On The
// Phone", "Talk 1002"; others "Busy", "In a call", "Do not disturb".
var busyNotes = []string{"on the phone", "on-the-phone", "on phone", "ringing", "on hold", "busy",
	"talk", "talking", "in a call", "in call", "in a meeting", "do not disturb", "dnd"}

// NoteSaysBusy reports whether the note reads as a phone in use. Without
// dialog state (a PBX without the dialog package, or an agent with source
// presence) it is the only sign of a call many PBXs give besides RPID.
func (s Status) NoteSaysBusy() bool {
	note := strings.ToLower(strings.TrimSpace(s.Note))
	for _, b := range busyNotes {
		rest, ok := strings.CutPrefix(note, b)
		if ok && (rest == "" || !isLetter(rest[0])) {
			return true
		}
	}
	return false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
