package config

import (
	"slices"
	"strings"
)

func (v *validator) widgets(c *Config) {
	firstByID := map[string]string{} // normalized id -> path of the widget using it
	for i := range c.Widgets {
		path := indexPath("widgets", i)
		w := &c.Widgets[i]
		w.Line = v.p.line(path)
		v.widget(path, w, c)
		if w.ID == "" {
			continue
		}
		if first, dup := firstByID[w.ID]; dup {
			v.p.errf(path+".id", "%s is already the id of %s (line %d)", w.ID, first, v.p.line(first))
			continue
		}
		firstByID[w.ID] = path
	}
}

func (v *validator) widget(path string, w *Widget, c *Config) {
	if w.ID == "" {
		v.p.errf(path+".id", "is required (a UUID; `frontdesk new` makes one)")
	} else if id, ok := normalizeUUID(w.ID); ok {
		w.ID = id
	} else {
		v.p.errf(path+".id", "%q is not a UUID (32 hex digits, dashes allowed)", w.ID)
	}
	switch w.Type {
	case WidgetUnknown:
		v.p.errf(path+".type", "is required (sidebar or cards)")
	case WidgetSidebar, WidgetCards:
	default:
		v.p.errf(path+".type", "%s", oneOf(w.Type, widgetTypes...))
	}
	if w.Name == "" {
		w.Name = DefaultWidgetName
	}
	if w.Lang == "" {
		w.Lang = DefaultLang
	} else if !langRe.MatchString(w.Lang) {
		v.p.errf(path+".lang", "%q is not a two-letter lowercase language code such as en", w.Lang)
	}
	v.contact(path+".contact", &w.Contact)
	v.style(path+".style", &w.Style, w.Type)
	if len(w.AllowedOrigins) == 0 {
		w.AllowedOrigins = slices.Clone(c.HTTP.AllowedOrigins)
	} else {
		w.AllowedOrigins = v.origins(path+".allowed_origins", w.AllowedOrigins)
	}
	for lang, texts := range w.Teasers {
		if !langRe.MatchString(lang) {
			v.p.errf(joinPath(path+".teasers", lang), "%q is not a two-letter lowercase language code", lang)
		}
		for i, t := range texts {
			if strings.TrimSpace(t) == "" {
				v.p.errf(indexPath(joinPath(path+".teasers", lang), i), "is empty")
			}
		}
	}
	for lang, text := range w.ExpectedReply {
		if !langRe.MatchString(lang) {
			v.p.errf(joinPath(path+".expected_reply", lang), "%q is not a two-letter lowercase language code", lang)
		}
		if strings.TrimSpace(text) == "" || len(text) > 200 {
			v.p.errf(joinPath(path+".expected_reply", lang), "must be a line of 1 to 200 characters")
		}
	}
	for lang, texts := range w.Strings {
		lp := joinPath(path+".strings", lang)
		if !langRe.MatchString(lang) {
			v.p.errf(lp, "%q is not a two-letter lowercase language code", lang)
		}
		for key := range texts {
			if !stringKeyRe.MatchString(key) {
				v.p.errf(lp, "%q is not a valid string key", key)
			}
		}
	}
	if w.Fallback != nil {
		v.fallback(path+".fallback", w.Fallback, c)
	}
	if w.Hours != nil {
		v.hours(path+".hours", w.Hours, "")
	}
	if w.Queue != nil {
		v.queue(path+".queue", w.Queue)
	}
	v.contactContext(path, w)
	v.agents(path, w, c)
	v.groups(path, w, c)
}

func (v *validator) contact(path string, ct *Contact) {
	if ct.Email != "" {
		if addr, err := normalizeEmail(ct.Email); err != nil {
			v.p.errf(path+".email", "%v", err)
		} else {
			ct.Email = addr
		}
	}
	if ct.Web != "" {
		if err := checkWebURL(ct.Web); err != nil {
			v.p.errf(path+".web", "%v", err)
		}
	}
}

func (v *validator) style(path string, s *Style, t WidgetType) {
	switch s.Position = strings.ToLower(s.Position); s.Position {
	case "":
		s.Position = "right"
	case "left", "right":
	default:
		v.p.errf(path+".position", "%s", oneOf(s.Position, "left", "right"))
	}
	if s.FontFamily != "" && !fontFamilyRe.MatchString(s.FontFamily) {
		v.p.errf(path+".font_family", "%q is not a font list such as \"Helvetica, Arial, sans-serif\"", s.FontFamily)
	}
	colors := []struct{ key, val string }{
		{"foreground", s.Foreground}, {"background", s.Background},
		{"accent", s.Accent}, {"accent_text", s.AccentText},
	}
	for _, c := range colors {
		if c.val != "" && !isColor(c.val) {
			v.p.errf(joinPath(path, c.key), "%q is not a CSS colour such as #0a84ff, rgb(10,132,255) or navy", c.val)
		}
	}
	lengths := []struct{ key, val string }{
		{"font_size", s.FontSize}, {"margin_top", s.MarginTop}, {"margin_right", s.MarginRight},
		{"margin_bottom", s.MarginBottom}, {"margin_left", s.MarginLeft},
	}
	for _, l := range lengths {
		if l.val != "" && !cssLengthRe.MatchString(l.val) {
			v.p.errf(joinPath(path, l.key), "%q is not a CSS length such as 12px, 1em or 0", l.val)
		}
	}
	switch {
	case s.ZIndex < 0 || s.ZIndex > 2147483647:
		v.p.errf(path+".z_index", "%d is not between 0 and 2147483647", s.ZIndex)
	case s.ZIndex == 0 && t == WidgetSidebar:
		s.ZIndex = DefaultSidebarZIndex
	}
}

func (v *validator) agents(wpath string, w *Widget, c *Config) {
	firstByID := map[string]string{}
	for i := range w.Agents {
		path := indexPath(wpath+".agents", i)
		a := &w.Agents[i]
		a.Line = v.p.line(path)
		v.agent(path, a, c)
		if a.Hours != nil {
			zone := ""
			if w.Hours != nil {
				zone = w.Hours.TimeZone
			}
			v.hours(path+".hours", a.Hours, zone)
		}
		if a.ID == "" {
			continue
		}
		if first, dup := firstByID[a.ID]; dup {
			v.p.errf(path+".id", "%q is already the id of %s (line %d); set a distinct id", a.ID, first, v.p.line(first))
			continue
		}
		firstByID[a.ID] = path
	}
}

func (v *validator) agent(path string, a *Agent, c *Config) {
	user := ""
	if a.SIP == "" {
		v.p.errf(path+".sip", "is required (sip:user@domain, user@domain or user)")
	} else if uri, u, err := normalizeSIP(a.SIP, c.SIP.Domain); err != nil {
		v.p.errf(path+".sip", "%v", err)
	} else {
		a.URI, user = uri, u
	}
	switch {
	case a.ID != "":
		if !agentIDRe.MatchString(a.ID) {
			v.p.errf(path+".id", "%q may only have letters, digits, '.', '_' and '-' (at most 64)", a.ID)
		}
	case user != "":
		a.ID = user
		if !agentIDRe.MatchString(a.ID) {
			v.p.errf(path+".id", "the default id %q (from sip) may only have letters, digits, '.', '_' and '-'; set id", a.ID)
			a.ID = ""
		}
	}
	if a.Name == "" {
		a.Name = a.ID
	}
	if a.Email != "" {
		if addr, err := normalizeEmail(a.Email); err != nil {
			v.p.errf(path+".email", "%v", err)
		} else {
			a.Email = addr
		}
	}
	v.media(path+".media", a)
	v.mode(path, a, c)
	if a.Link != nil {
		switch {
		case a.Link.URL == "":
			v.p.errf(path+".link.url", "is required")
		default:
			if err := checkLinkURL(a.Link.URL); err != nil {
				v.p.errf(path+".link.url", "%v", err)
			}
			if a.Link.Title == "" {
				v.p.errf(path+".link.title", "is required with link.url")
			}
		}
	}
	if a.Picture != "" && c.Limits.MaxPictureBytes > 0 {
		pic, err := v.picture(a.Picture, c.Limits.MaxPictureBytes)
		if err != nil {
			v.p.errf(path+".picture", "%v", err)
		} else {
			a.PictureData, a.PictureType = pic.data, pic.mime
		}
	}
}

// media checks the agent's media and puts them in canonical order. Video
// implies voice: a visitor whose browser cannot send video still reaches a
// video agent by voice, so voice is added when only video is listed.
func (v *validator) media(path string, a *Agent) {
	if len(a.Media) == 0 {
		a.Media = []Medium{MediumVoice, MediumChat}
		if a.Email != "" {
			a.Media = append(a.Media, MediumEmail)
		}
		return
	}
	seen := map[Medium]bool{}
	for i, m := range a.Media {
		ip := indexPath(path, i)
		switch {
		case !slices.Contains(media, m):
			v.p.errf(ip, "%s", oneOf(m, media...))
		case seen[m]:
			v.p.errf(ip, "%s is listed twice", m)
		case m == MediumEmail && a.Email == "":
			v.p.errf(ip, "email needs the agent's email address")
		}
		seen[m] = true
	}
	if seen[MediumVideo] {
		seen[MediumVoice] = true
	}
	a.Media = a.Media[:0]
	for _, m := range media {
		if seen[m] {
			a.Media = append(a.Media, m)
		}
	}
}

func (v *validator) mode(path string, a *Agent, c *Config) {
	switch a.Mode {
	case ModeUnknown:
		a.Mode = ModePresence
	case ModePresence, ModeAlways, ModeBoolean, ModeInactive:
	default:
		v.p.errf(path+".mode", "%s", oneOf(a.Mode, modes...))
		return
	}
	switch a.Source {
	case SourceUnknown:
		if a.Mode == ModePresence {
			a.Source = SourceBoth
		}
	case SourceBoth, SourcePresence, SourceDialog:
		if a.Mode != ModePresence {
			v.p.errf(path+".source", "is only used with mode presence, not %s", a.Mode)
		}
	default:
		v.p.errf(path+".source", "%s", oneOf(a.Source, sources...))
	}
	switch {
	case a.Mode == ModeBoolean && a.Boolean == "":
		v.p.errf(path+".boolean", "is required with mode boolean (the boolean object's SIP address)")
	case a.Mode != ModeBoolean && a.Boolean != "":
		v.p.errf(path+".boolean", "is only used with mode boolean, not %s", a.Mode)
	case a.Boolean != "":
		uri, _, err := normalizeSIP(a.Boolean, c.SIP.Domain)
		if err != nil {
			v.p.errf(path+".boolean", "%v", err)
			return
		}
		a.BooleanURI = uri
	}
}
