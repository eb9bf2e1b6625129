package tlscert

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/frontdesk-gw/frontdesk/internal/testca"
)

// TestLoadCAPool: a bundle verifies what its CAs issued and nothing else;
// files without certificates, or too large, are refused.
func TestLoadCAPool(t *testing.T) {
	p := newPKI(t)
	other, err := testca.New("other CA")
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(p.dir, "bundle.pem")
	p.write(bundle, append(append([]byte("# a comment line\n"), p.ca.PEM...), other.PEM...))
	pool, err := LoadCAPool(bundle)
	if err != nil {
		t.Fatal(err)
	}
	third, err := testca.New("third CA")
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		ca   *testca.CA
		want bool
	}{{p.ca, true}, {other, true}, {third, false}} {
		issued, err := tc.ca.Issue(testca.Leaf{Names: []string{"pbx.example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		pair, err := tlsPair(issued)
		if err != nil {
			t.Fatal(err)
		}
		_, err = pair.Verify(x509.VerifyOptions{Roots: pool, DNSName: "pbx.example.com"})
		if (err == nil) != tc.want {
			t.Errorf("certificate %d: verify error %v, want verified %v", i, err, tc.want)
		}
	}
	for name, data := range map[string][]byte{
		"empty.pem": []byte("no certificate here\n"),
		"huge.pem":  bytes.Repeat([]byte("A"), maxFileBytes+1),
	} {
		path := filepath.Join(p.dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadCAPool(path); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want an error naming the file", name, err)
		}
	}
}

func tlsPair(c *testca.Issued) (*x509.Certificate, error) {
	b, _ := pem.Decode(c.CertPEM)
	return x509.ParseCertificate(b.Bytes)
}
