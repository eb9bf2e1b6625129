package config

import "unicode/utf8"

// MinAdminToken is the shortest admin token accepted, in characters.
const MinAdminToken = 16

// adminAccess checks how the admin view is protected: a token from an
// environment variable or a file, a client certificate under the admin
// listener's own TLS, or neither on a loopback address only.
func (v *validator) adminAccess(a *Admin) {
	const path = "admin"
	switch {
	case a.TokenEnv != "" && a.TokenFile != "":
		v.p.errf(path+".token_env", "set only one of token_env and token_file")
	case a.TokenEnv != "":
		a.ResolvedToken = v.env(path+".token_env", a.TokenEnv)
	case a.TokenFile != "":
		a.ResolvedToken = v.secretFile(path+".token_file", a.TokenFile)
	}
	if a.ResolvedToken != "" && utf8.RuneCountInString(a.ResolvedToken) < MinAdminToken {
		field := path + ".token_env"
		if a.TokenFile != "" {
			field = path + ".token_file"
		}
		v.p.errf(field, "the token has %d characters; use at least %d (e.g. openssl rand -hex 24)",
			utf8.RuneCountInString(a.ResolvedToken), MinAdminToken)
	}
	if (a.TLSCert == "") != (a.TLSKey == "") {
		v.p.errf(path+".tls_cert", "tls_cert and tls_key must be set together")
	} else if a.TLSCert != "" {
		a.TLSCert = v.existingFile(path+".tls_cert", a.TLSCert)
		a.TLSKey = v.existingFile(path+".tls_key", a.TLSKey)
	}
	if a.ClientCA != "" {
		if a.TLSCert == "" {
			v.p.errf(path+".client_ca", "needs tls_cert and tls_key: client certificates are checked in the admin listener's TLS handshake")
		}
		a.ClientCA = v.existingFile(path+".client_ca", a.ClientCA)
	}
}

// unprotectedNote is what the warning about an admin listener off loopback
// adds when nothing protects the admin view.
func unprotectedNote(a *Admin) string {
	if a.Protected() {
		return ""
	}
	return "; the admin view (/admin/) is not served there without token_env, token_file or client_ca"
}

// doctor normalizes the opt-in test addresses of `frontdesk doctor`.
func (v *validator) doctor(d *Doctor, c *Config) {
	const path = "doctor"
	for _, f := range []struct {
		key     string
		in, uri *string
	}{
		{"test_agent", &d.TestAgent, &d.TestAgentURI},
		{"test_extension", &d.TestExtension, &d.TestExtensionURI},
	} {
		if *f.in == "" {
			continue
		}
		uri, _, err := normalizeSIP(*f.in, c.SIP.Domain)
		if err != nil {
			v.p.errf(path+"."+f.key, "%v", err)
			continue
		}
		*f.uri = uri
	}
}
