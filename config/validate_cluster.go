package config

import (
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// Defaults and bounds of the cluster section.
const (
	DefaultClusterName = "frontdesk"
	DefaultLeaseTTL    = 10 * time.Second
	MinLeaseTTL        = 3 * time.Second
	MaxLeaseTTL        = 5 * time.Minute
	// NodeEnv names the environment variable a node's name is read from
	// when cluster.node is not set (every node reads the same file).
	NodeEnv = "FRONTDESK_NODE"
)

// clusterNameRE keeps node and cluster names usable in NATS subjects and
// bucket names (no dots, spaces or wildcards).
var clusterNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (v *validator) cluster(c *Cluster) {
	if c == nil {
		return
	}
	const path = "cluster"
	if len(c.URLs) == 0 {
		v.p.errf(path+".urls", "at least one NATS server URL is required, e.g. nats://127.0.0.1:4222")
	}
	for i, u := range c.URLs {
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" || !oneOfScheme(pu.Scheme, "nats", "tls") {
			v.p.errf(indexPath(path+".urls", i), "%q is not a NATS URL such as nats://host:4222 or tls://host:4222", u)
		}
	}
	if c.Node == "" {
		c.Node = os.Getenv(NodeEnv)
	}
	if c.Node == "" {
		if h, err := os.Hostname(); err == nil {
			c.Node = strings.ReplaceAll(h, ".", "-")
		}
	}
	if !clusterNameRE.MatchString(c.Node) {
		v.p.errf(path+".node", "%q is not a node name: 1 to 64 letters, digits, - or _", c.Node)
	}
	if c.Name == "" {
		c.Name = DefaultClusterName
	}
	if !clusterNameRE.MatchString(c.Name) {
		v.p.errf(path+".name", "%q is not a cluster name: 1 to 64 letters, digits, - or _", c.Name)
	}
	if c.CredentialsFile != "" {
		if c.User != "" || c.PasswordEnv != "" {
			v.p.errf(path+".credentials_file", "use either credentials_file or user/password_env, not both")
		}
		c.CredentialsFile = v.existingFile(path+".credentials_file", c.CredentialsFile)
	}
	switch {
	case (c.User == "") != (c.PasswordEnv == ""):
		v.p.errf(path+".user", "user and password_env must be set together")
	case c.PasswordEnv != "":
		c.ResolvedPassword = v.env(path+".password_env", c.PasswordEnv)
	}
	if c.TLSCA != "" {
		c.TLSCA = v.existingFile(path+".tls_ca", c.TLSCA)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		v.p.errf(path+".tls_cert", "tls_cert and tls_key must be set together")
	} else if c.TLSCert != "" {
		c.TLSCert = v.existingFile(path+".tls_cert", c.TLSCert)
		c.TLSKey = v.existingFile(path+".tls_key", c.TLSKey)
	}
	switch t := c.LeaseTTL; {
	case t == 0:
		c.LeaseTTL = DefaultLeaseTTL
	case t < MinLeaseTTL || t > MaxLeaseTTL:
		v.p.errf(path+".lease_ttl", "%v is outside %v to %v", t, MinLeaseTTL, MaxLeaseTTL)
	}
}

func oneOfScheme(s string, allowed ...string) bool {
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return true
		}
	}
	return false
}
