package config

import "fmt"

// String returns the YAML spelling of t.
func (t WidgetType) String() string { return string(t) }

// String returns the YAML spelling of m.
func (m Medium) String() string { return string(m) }

// String returns the YAML spelling of m.
func (m Mode) String() string { return string(m) }

// String returns the YAML spelling of s.
func (s Source) String() string { return string(s) }

// String returns the YAML spelling of f.
func (f FormField) String() string { return string(f) }

// String returns the YAML spelling of p.
func (p PageURL) String() string { return string(p) }

// ParseFormField parses off, optional or required.
func ParseFormField(s string) (FormField, error) { return parseEnum(s, formFields) }

// ParsePageURL parses path, full or off.
func ParsePageURL(s string) (PageURL, error) { return parseEnum(s, pageURLs) }

var (
	formFields = []FormField{FormOff, FormOptional, FormRequired}
	pageURLs   = []PageURL{PageURLPath, PageURLFull, PageURLOff}
)

var (
	sources     = []Source{SourceBoth, SourcePresence, SourceDialog}
	widgetTypes = []WidgetType{WidgetSidebar, WidgetCards}
	media       = []Medium{MediumVoice, MediumVideo, MediumChat, MediumEmail}
	modes       = []Mode{ModePresence, ModeAlways, ModeBoolean, ModeInactive}
)

// ParseWidgetType parses sidebar or cards.
func ParseWidgetType(s string) (WidgetType, error) { return parseEnum(s, widgetTypes) }

// ParseMedium parses voice, video, chat or email.
func ParseMedium(s string) (Medium, error) { return parseEnum(s, media) }

// ParseMode parses presence, always, boolean or inactive.
func ParseMode(s string) (Mode, error) { return parseEnum(s, modes) }

// ParseSource parses both, presence or dialog.
func ParseSource(s string) (Source, error) { return parseEnum(s, sources) }

func parseEnum[T ~string](s string, allowed []T) (T, error) {
	for _, a := range allowed {
		if string(a) == s {
			return a, nil
		}
	}
	var unknown T
	return unknown, fmt.Errorf("%s", oneOf(T(s), allowed...))
}
