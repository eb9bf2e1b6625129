// Package tlscert serves the gateway's own TLS certificate and picks up a
// renewed one without a restart.
//
// Certificates are renewed on disk (certbot, acme.sh, a Kubernetes secret)
// while the gateway runs. A Cert holds the key pair in use and hands it to
// every handshake through tls.Config.GetCertificate (or, as a client
// certificate, GetClientCertificate: the SIP side presents sip.tls_cert to
// a PBX that asks); Run checks the two files every Interval and loads them
// again when they changed (size, modification time or the file itself, so
// renames and symlink swaps count). A change is loaded only once the files
// have stayed the same for one more check, so a renewal that writes the
// certificate and the key one after the other is not caught half-way.
//
// A new pair that cannot be used — unreadable, not PEM, a key that does not
// match the certificate, expired or not yet valid — is refused: the
// previous certificate keeps serving, the problem is logged and Status
// reports it until the files are good again. Nothing a bad file holds ever
// reaches a handshake.
//
// LoadCAPool reads a CA bundle (sip.tls_ca) for verifying peers, bounded
// like the certificate files.
//
// ServerConfig is the TLS configuration the gateway serves with: TLS 1.2 or
// newer, and for TLS 1.2 only forward-secret AEAD cipher suites (Mozilla's
// "intermediate" profile).
package tlscert
