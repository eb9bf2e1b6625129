package webrtclite

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// certificate is a self-signed DTLS certificate and its SHA-256
// fingerprint, as SDP's a=fingerprint carries it (RFC 8122).
type certificate struct {
	tls         tls.Certificate
	fingerprint string // "AB:CD:…"
}

func newCertificate() (*certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("DTLS key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("DTLS certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "frontdesk"},
		NotBefore:    time.Now().Add(-24 * time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("DTLS certificate: %w", err)
	}
	return &certificate{tls: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, fingerprint: fingerprintOf(der)}, nil
}

// fingerprintOf is the SHA-256 fingerprint of a DER certificate.
func fingerprintOf(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// verifyFingerprint returns the DTLS peer check for a fingerprint from SDP
// ("sha-256 AB:CD:…" or just the hex).
func verifyFingerprint(want string) func([][]byte, [][]*x509.Certificate) error {
	hash, value, ok := strings.Cut(strings.TrimSpace(want), " ")
	if !ok {
		hash, value = "sha-256", hash
	}
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if !strings.EqualFold(hash, "sha-256") {
			return fmt.Errorf("fingerprint hash %q not supported (sha-256 only)", hash)
		}
		if len(raw) == 0 {
			return fmt.Errorf("peer sent no certificate")
		}
		if got := fingerprintOf(raw[0]); !strings.EqualFold(got, value) {
			return fmt.Errorf("peer certificate fingerprint %s does not match the SDP's %s", got, value)
		}
		return nil
	}
}
