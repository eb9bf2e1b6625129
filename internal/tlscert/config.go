package tlscert

import "crypto/tls"

// ServerConfig is the TLS configuration the gateway serves with: c's
// certificate, at least minVersion (tls.VersionTLS12 or tls.VersionTLS13),
// and for TLS 1.2 only ECDHE key exchange with AEAD ciphers. TLS 1.3's
// suites and the key exchange groups are Go's defaults, which include the
// post-quantum hybrid X25519MLKEM768.
func ServerConfig(c *Cert, minVersion uint16) *tls.Config {
	if minVersion < tls.VersionTLS12 {
		minVersion = tls.VersionTLS12
	}
	return &tls.Config{
		MinVersion:     minVersion,
		GetCertificate: c.GetCertificate,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}
