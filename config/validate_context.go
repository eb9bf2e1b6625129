package config

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of a widget's form and Alert-Info.
const (
	maxTopics      = 20
	MaxTopicRunes  = 60 // a topic choice; a typed topic is bounded alike
	maxAlertInfo   = 256
	defaultPageURL = PageURLPath
)

// alertInfoRe is one Alert-Info value (RFC 3261 20.4): an absolute URI in
// angle brackets, optionally with parameters.
var alertInfoRe = regexp.MustCompile(`^<[A-Za-z][A-Za-z0-9+.-]*:[^<>\s"]+>(\s*;\s*[A-Za-z0-9._!~*'%-]+(=[A-Za-z0-9._!~*'%-]+)?)*$`)

// contactContext checks what a widget tells agents of a visitor besides
// their name: the form, the page address and the Alert-Info of its calls.
func (v *validator) contactContext(path string, w *Widget) {
	f := &w.Form
	fp := path + ".form"
	field := func(key string, got *FormField, def FormField) {
		switch *got {
		case FormFieldUnknown:
			*got = def
		case FormOff, FormOptional, FormRequired:
		default:
			v.p.errf(joinPath(fp, key), "%s", oneOf(*got, formFields...))
		}
	}
	topicDefault := FormOff
	if len(f.Topics) > 0 {
		topicDefault = FormOptional
	}
	field("name", &f.Name, FormRequired)
	field("email", &f.Email, FormOff)
	field("topic", &f.Topic, topicDefault)
	if len(f.Topics) > 0 && f.Topic == FormOff {
		v.p.errf(fp+".topics", "are only shown with topic optional or required, not off")
	}
	if len(f.Topics) > maxTopics {
		v.p.errf(fp+".topics", "%d topics, at most %d", len(f.Topics), maxTopics)
	}
	seen := map[string]bool{}
	for i, t := range f.Topics {
		tp := indexPath(fp+".topics", i)
		switch {
		case !oneLine(t) || utf8.RuneCountInString(t) > MaxTopicRunes:
			v.p.errf(tp, "must be one line of 1 to %d characters", MaxTopicRunes)
		case seen[t]:
			v.p.errf(tp, "%q is listed twice", t)
		}
		seen[t] = true
	}
	switch w.SendPageURL {
	case PageURLUnknown:
		w.SendPageURL = defaultPageURL
	case PageURLPath, PageURLFull, PageURLOff:
	default:
		v.p.errf(path+".send_page_url", "%s", oneOf(w.SendPageURL, pageURLs...))
	}
	if a := w.AlertInfo; a != "" && (len(a) > maxAlertInfo || !alertInfoRe.MatchString(a)) {
		v.p.errf(path+".alert_info", "%q is not an Alert-Info value such as \"<urn:alert:service:normal>\" (a URI in angle brackets, at most %d characters)", a, maxAlertInfo)
	}
}

// oneLine reports whether s is non-empty text without control characters
// and without leading or trailing space.
func oneLine(s string) bool {
	if s == "" || strings.TrimSpace(s) != s || !utf8.ValidString(s) {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	}) < 0
}
