package config

import "net/mail"

// DefaultSMTPPort is the submission port (RFC 6409).
const DefaultSMTPPort = 587

// smtp checks the mail server and what needs it: widgets that offer
// transcripts, and widgets that ask for ratings (which go to their
// webhook).
func (v *validator) smtp(c *Config) {
	if s := c.SMTP; s != nil {
		path := "smtp"
		if s.Host == "" {
			v.p.errf(path+".host", "is required (the mail server transcripts go out through)")
		}
		switch {
		case s.Port == 0:
			s.Port = DefaultSMTPPort
		case s.Port < 1 || s.Port > 65535:
			v.p.errf(path+".port", "%d is not a port", s.Port)
		}
		if a, err := mail.ParseAddress(s.From); s.From == "" || err != nil {
			v.p.errf(path+".from", "%q is not a sender such as \"Example shop <support@example.com>\"", s.From)
		} else {
			s.From = a.String()
		}
		switch {
		case (s.User == "") != (s.PasswordEnv == ""):
			v.p.errf(path+".user", "user and password_env must be set together")
		case s.PasswordEnv != "":
			s.ResolvedPassword = v.env(path+".password_env", s.PasswordEnv)
		}
		if s.RequireTLS == nil {
			on := true
			s.RequireTLS = &on
		} else if !*s.RequireTLS && s.User != "" {
			v.p.errf(path+".require_tls", "must stay true with a user: the password would go out in the clear")
		}
		if s.TLSCA != "" {
			s.TLSCA = v.existingFile(path+".tls_ca", s.TLSCA)
		}
	}
	for i := range c.Widgets {
		w := &c.Widgets[i]
		path := indexPath("widgets", i)
		if w.Transcript && c.SMTP == nil {
			v.p.errf(path+".transcript", "needs the smtp section (the mail server transcripts go out through)")
		}
		if w.Rating && (w.Fallback == nil || w.Fallback.Webhook == nil) {
			v.p.errf(path+".rating", "needs fallback.webhook (ratings and their comments are posted there)")
		}
	}
}
