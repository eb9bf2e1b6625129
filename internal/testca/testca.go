package testca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// CA is a certificate authority.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// PEM is the CA certificate, for a client's trust store.
	PEM []byte
}

// New makes a CA named name, valid from an hour ago for a year.
func New(name string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &CA{cert: cert, key: key, PEM: pemBlock("CERTIFICATE", der)}, nil
}

// Pool is a trust store holding only this CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Leaf describes a certificate to issue: a server's, or one good for
// clients too.
type Leaf struct {
	// Names are DNS names or IP addresses the certificate is for.
	Names []string
	// NotBefore and NotAfter default to an hour ago and 90 days from now
	// (as Let's Encrypt issues).
	NotBefore, NotAfter time.Time
	// Client, when set, makes a client certificate (TLS client
	// authentication) with this common name instead.
	Client string
	// ClientAuth makes the certificate good for TLS client authentication
	// too (extended key usage clientAuth besides serverAuth).
	ClientAuth bool
}

// Issued is a certificate and its private key, PEM encoded.
type Issued struct {
	CertPEM, KeyPEM []byte
	// Serial is the certificate's serial number, to tell certificates
	// apart.
	Serial *big.Int
	// NotAfter is when it expires.
	NotAfter time.Time
	// SPKIHash is the base64 SHA-256 of the public key (Chromium's
	// --ignore-certificate-errors-spki-list, HPKP pins).
	SPKIHash string
}

// Issue makes a server (or client) certificate signed by the CA, with a
// fresh key.
func (ca *CA) Issue(leaf Leaf) (*Issued, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	now := time.Now()
	if leaf.NotBefore.IsZero() {
		leaf.NotBefore = now.Add(-time.Hour)
	}
	if leaf.NotAfter.IsZero() {
		leaf.NotAfter = now.Add(90 * 24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		NotBefore:    leaf.NotBefore,
		NotAfter:     leaf.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if leaf.ClientAuth {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	for _, n := range leaf.Names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if len(leaf.Names) > 0 {
		tmpl.Subject.CommonName = leaf.Names[0]
	}
	if leaf.Client != "" {
		tmpl.Subject.CommonName = leaf.Client
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(spki)
	return &Issued{
		CertPEM:  pemBlock("CERTIFICATE", der),
		KeyPEM:   pemBlock("PRIVATE KEY", keyDER),
		Serial:   tmpl.SerialNumber,
		NotAfter: leaf.NotAfter,
		SPKIHash: base64.StdEncoding.EncodeToString(sum[:]),
	}, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// serial is a random 127-bit serial number (crypto/rand does not fail
// since Go 1.24; rand.Int only fails for a bad bound).
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}
