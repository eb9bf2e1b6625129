package tlscert

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// LoadCAPool reads a PEM bundle of CA certificates (bounded in size, as
// certificate files are) for verifying peers; a file without any
// certificate, or with one that does not parse, is an error.
func LoadCAPool(name string) (*x509.CertPool, error) {
	data, err := readBounded(name)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA file %s: %w", name, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", name)
	}
	return pool, nil
}
