package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxPEMFileBytes bounds a CA bundle read at validation (the system's
// whole bundle is about 200 KiB).
const maxPEMFileBytes = 1 << 20

// sipsServer reports whether a registrar or proxy address is a sips: URI.
func sipsServer(v string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "sips:")
}

// sipTLS checks the TLS keys of the sip section, once the transport is
// known.
func (v *validator) sipTLS(s *SIP) {
	const path = "sip"
	if s.TLSCA != "" {
		s.TLSCA = v.existingFile(path+".tls_ca", s.TLSCA)
		if err := checkCABundle(s.TLSCA); err != nil {
			v.p.errf(path+".tls_ca", "%v", err)
		}
	}
	switch {
	case (s.TLSCert == "") != (s.TLSKey == ""):
		v.p.errf(path+".tls_cert", "tls_cert and tls_key must be set together")
	case s.TLSCert != "":
		s.TLSCert = v.existingFile(path+".tls_cert", s.TLSCert)
		s.TLSKey = v.existingFile(path+".tls_key", s.TLSKey)
		if _, err := tls.LoadX509KeyPair(s.TLSCert, s.TLSKey); err != nil && fileExists(s.TLSCert) && fileExists(s.TLSKey) {
			v.p.errf(path+".tls_key", "cannot use the key pair: %v", err)
		}
	}
	if s.Transport != "tls" {
		for _, k := range []struct {
			key string
			set bool
		}{{"tls_ca", s.TLSCA != ""}, {"tls_cert", s.TLSCert != ""}, {"tls_insecure", s.TLSInsecure}} {
			if k.set {
				v.p.warnf(path+"."+k.key, "has no effect unless sip.transport is tls")
			}
		}
		return
	}
	if s.TLSInsecure {
		v.p.warnf(path+".tls_insecure", "the PBX's certificate is not verified: anyone on the path can read and change the SIP traffic; for tests only")
	}
	if s.TLSCert == "" {
		v.p.warnf(path+".transport", "tls without tls_cert and tls_key: the gateway does not listen for TLS, so the PBX must send its requests (NOTIFY, MESSAGE, BYE) over the connection the gateway opened; see README, SIP over TLS")
	}
}

// sdesOverTLS refuses SDES keys on a transport that carries them in clear
// text: SDES (RFC 4568) puts the SRTP master keys in the SDP, and whoever
// reads the signalling decrypts the media.
func (v *validator) sdesOverTLS(c *Config) {
	if c.Calls.SRTP != "sdes" {
		return
	}
	if c.SIP.Transport != "tls" {
		v.p.errf("calls.srtp", "sdes puts the SRTP keys in the SDP, which sip.transport %s carries in clear text: set sip.transport to tls", c.SIP.Transport)
		return
	}
	if c.SIP.TLSInsecure {
		v.p.warnf("calls.srtp", "sdes keys go to a PBX whose certificate is not verified (sip.tls_insecure)")
	}
}

// checkCABundle reports a CA file without any usable PEM certificate.
func checkCABundle(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return nil // existingFile reported it
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFileBytes+1))
	switch {
	case err != nil:
		return err
	case len(data) > maxPEMFileBytes:
		return fmt.Errorf("%s is larger than %d bytes", name, maxPEMFileBytes)
	}
	n := 0
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s holds no PEM certificate", name)
	}
	return nil
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
