// Package config reads, validates and watches frontdesk.yaml, the one file
// that describes the gateway's SIP registration, web server, admin
// listener, ICE servers, limits, and the contact widgets with their agents.
//
// Loading is two steps. Parse decodes the YAML node tree strictly: unknown
// keys, duplicate keys and wrong types are problems, each reported as
// "file:line: key.path: sentence", and every problem in the file is
// collected rather than only the first. Validation then fills defaults,
// rejects conflicts, normalizes values (widget ids to 32 lowercase hex
// digits, agent addresses to sip:user@domain) and reads what the file
// refers to: password and secret variables or files, and agent pictures,
// which must really be JPEG or PNG. An invalid file yields Errors and no
// Config; warnings (an inline password) come back as []Problem.
//
// A *Config is immutable once returned. Reloading builds a new one: Watcher
// watches the file's directory (so rename-over and symlink swaps are seen)
// with a polling fallback, skips unchanged bytes, and hands old and new to
// the caller, who uses Diff to touch only what changed and Monitored to
// know which addresses to subscribe to. A bad edit is logged and counted
// and the old config stays.
//
// Decisions worth knowing:
//   - Durations take Go syntax ("30s", "1h") or a whole number of seconds.
//   - An agent's media default to voice and chat, plus email when it has an
//     email address. Video implies voice, which is added when missing: a
//     visitor without a camera can still reach a video agent.
//   - A widget without allowed_origins gets http.allowed_origins.
//   - admin.listen defaults to loopback (127.0.0.1:9480), or to port 0 when
//     http.listen has port 0, so test gateways never share a port.
//   - The admin view is protected by admin.token_env or token_file (at
//     least MinAdminToken characters) or admin.client_ca (which needs the
//     admin listener's own tls_cert); with neither, a listener off loopback
//     gets a warning that the view is not served there.
//   - doctor.test_agent and test_extension are normalized like agents'
//     addresses (Doctor.TestAgentURI, TestExtensionURI).
//   - http.proxy_protocol needs http.trusted_proxies: only listed peers may
//     name the client.
//   - Files the config refers to are read again only when the config file
//     itself changes; the TLS certificate files are the exception: the
//     gateway watches them itself (internal/tlscert).
//   - http.redirect_listen redirects to public_url, so that must be https
//     (or derived from tls_cert on a port-0 listener).
//   - With sip.public_address set, the PBX reaches the gateway through a
//     NAT: Calls.PBXMediaIP (derived, not a key) makes SDP toward the PBX
//     name that address's host, or calls.public_ip for a host name.
//
// Default returns the embedded demo config; example.yaml is the same demo
// with every key documented, and NewWidgetYAML writes a stanza for a new
// widget.
package config
