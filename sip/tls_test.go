package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/internal/testca"
)

// tlsPKI is a test CA and a directory for certificate files.
type tlsPKI struct {
	t   *testing.T
	ca  *testca.CA
	dir string
}

func newTLSPKI(t *testing.T, name string) *tlsPKI {
	t.Helper()
	ca, err := testca.New(name)
	if err != nil {
		t.Fatal(err)
	}
	p := &tlsPKI{t: t, ca: ca, dir: t.TempDir()}
	p.write("ca.pem", ca.PEM)
	return p
}

func (p *tlsPKI) caFile() string { return filepath.Join(p.dir, "ca.pem") }

func (p *tlsPKI) issue(leaf testca.Leaf) *testca.Issued {
	p.t.Helper()
	c, err := p.ca.Issue(leaf)
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

// write puts data in place as a renewal does: written aside, renamed over.
func (p *tlsPKI) write(name string, data []byte) string {
	p.t.Helper()
	full := filepath.Join(p.dir, name)
	if err := os.WriteFile(full+".new", data, 0o600); err != nil {
		p.t.Fatal(err)
	}
	if err := os.Rename(full+".new", full); err != nil {
		p.t.Fatal(err)
	}
	return full
}

// pair writes c as name-cert.pem and name-key.pem.
func (p *tlsPKI) pair(name string, c *testca.Issued) (certFile, keyFile string) {
	return p.write(name+"-cert.pem", c.CertPEM), p.write(name+"-key.pem", c.KeyPEM)
}

func (p *tlsPKI) keyPair(c *testca.Issued) tls.Certificate {
	p.t.Helper()
	kp, err := tls.X509KeyPair(c.CertPEM, c.KeyPEM)
	if err != nil {
		p.t.Fatal(err)
	}
	return kp
}

// tlsPBX is a fake PBX over TLS with pbxCert; its own requests trust
// only the CA of clientRoots. Client certificates it sees are recorded.
type tlsPBX struct {
	*fakePBX
	mu      sync.Mutex
	clients []*big.Int // serial numbers of the client certificates seen
}

type tlsPBXOptions struct {
	cert *testca.Issued
	pki  *tlsPKI // the CA of pbx's certificate
	// requireClient makes the PBX ask for a client certificate of
	// clientCA and refuse connections without one.
	requireClient bool
	clientCA      *tlsPKI
	maxVersion    uint16
	// gatewayCA is what the PBX trusts when it connects to the gateway.
	gatewayCA *tlsPKI
}

func newTLSPBX(t *testing.T, o tlsPBXOptions) *tlsPBX {
	t.Helper()
	p := &tlsPBX{}
	server := &tls.Config{Certificates: []tls.Certificate{o.pki.keyPair(o.cert)}, MaxVersion: o.maxVersion,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 {
				p.mu.Lock()
				p.clients = append(p.clients, cs.PeerCertificates[0].SerialNumber)
				p.mu.Unlock()
			}
			return nil
		}}
	if o.requireClient {
		server.ClientAuth, server.ClientCAs = tls.RequireAndVerifyClientCert, o.clientCA.ca.Pool()
	}
	client := &tls.Config{}
	if o.gatewayCA != nil {
		client.RootCAs = o.gatewayCA.ca.Pool()
	}
	p.fakePBX = newFakePBXWith(t, "127.0.0.1", "tls", server, client)
	return p
}

func (p *tlsPBX) clientSerials() []*big.Int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*big.Int(nil), p.clients...)
}

// firstOf returns the first request of each method, in whatever order
// they come (a UA subscribes while it registers), failing after 3 s.
func (f *fakePBX) firstOf(methods ...sip.RequestMethod) map[sip.RequestMethod]*sip.Request {
	f.t.Helper()
	got := map[sip.RequestMethod]*sip.Request{}
	deadline := time.After(3 * time.Second)
	for len(got) < len(methods) {
		select {
		case r := <-f.reqs:
			for _, m := range methods {
				if r.Method == m && got[m] == nil {
					got[m] = r
				}
			}
		case <-deadline:
			f.t.Fatalf("of %v only %d came within 3s", methods, len(got))
		}
	}
	return got
}

// tlsConfig is the UA config toward f over TLS.
func tlsConfig(f *fakePBX, mod func(*config.SIP)) config.SIP {
	cfg := fakeConfig(f)
	cfg.Transport = "tls"
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

// waitRegFailure waits for a failed registration and returns its error.
func waitRegFailure(t *testing.T, rec *recorder) error {
	t.Helper()
	return waitFor(t, rec.regs, "registration failed", func(e regEvent) bool { return e.state == RegFailed }).err
}

// TestTLSVerifiesThePBX: the PBX's certificate is verified against
// sip.tls_ca (or the system's roots) and the registrar's host; a refusal
// is reported, as registration error and Status.LastError, with what to
// change, and no SIP reaches the PBX. tls_insecure skips the checks.
func TestTLSVerifiesThePBX(t *testing.T) {
	pbxCA := newTLSPKI(t, "PBX CA")
	otherCA := newTLSPKI(t, "Another CA")
	tests := []struct {
		name     string
		leaf     testca.Leaf
		ca       string // sip.tls_ca: "pbx", "other" or "" (system roots)
		insecure bool
		want     string // in the error; "" means registered
	}{
		{name: "private CA", leaf: testca.Leaf{Names: []string{"127.0.0.1"}}, ca: "pbx"},
		{name: "another CA", leaf: testca.Leaf{Names: []string{"127.0.0.1"}}, ca: "other",
			want: `the PBX's certificate (issued by "CN=PBX CA") is not signed by a CA the gateway trusts (sip.tls_ca ` + otherCA.caFile() + `): set sip.tls_ca to the CA that issued it`},
		{name: "system roots", leaf: testca.Leaf{Names: []string{"127.0.0.1"}}, ca: "",
			want: `is not signed by a CA the gateway trusts (the system's roots)`},
		{name: "another name", leaf: testca.Leaf{Names: []string{"pbx.example.com"}}, ca: "pbx",
			want: `the PBX's certificate does not hold the name "127.0.0.1": give sip.registrar (or sip.outbound_proxy) as a name the certificate holds`},
		{name: "expired", leaf: testca.Leaf{Names: []string{"127.0.0.1"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}, ca: "pbx",
			want: "the PBX's certificate has expired or is not valid yet"},
		{name: "insecure", leaf: testca.Leaf{Names: []string{"pbx.example.com"}}, ca: "other", insecure: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTLSPBX(t, tlsPBXOptions{cert: pbxCA.issue(tc.leaf), pki: pbxCA})
			rec := newRecorder()
			cfg := tlsConfig(f.fakePBX, func(c *config.SIP) {
				c.TLSInsecure = tc.insecure
				switch tc.ca {
				case "pbx":
					c.TLSCA = pbxCA.caFile()
				case "other":
					c.TLSCA = otherCA.caFile()
				}
			})
			u, _ := runUA(t, cfg, rec, Options{Logger: testLogger()}, 500*time.Millisecond)
			if tc.want == "" {
				waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
				if req := f.next(sip.REGISTER); req.Transport() != "TLS" {
					t.Errorf("REGISTER came over %s", req.Transport())
				}
				return
			}
			err := waitRegFailure(t, rec)
			var te *TLSError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.want) || te.Addr != f.addr {
				t.Fatalf("registration error %v, want a TLSError for %s saying %q", err, f.addr, tc.want)
			}
			if st := u.Status(); !strings.Contains(st.LastError, tc.want) {
				t.Errorf("Status.LastError %q, want %q", st.LastError, tc.want)
			}
			select {
			case req := <-f.reqs:
				t.Errorf("%s reached a PBX whose certificate was refused", req.Method)
			default:
			}
		})
	}
}

// TestTLSClientCertificate: a PBX that asks for a client certificate gets
// sip.tls_cert; without one, or with one the PBX does not accept, the
// registration error says so, with TLS 1.3 (where the PBX refuses after
// the client's handshake is done) as with TLS 1.2.
func TestTLSClientCertificate(t *testing.T) {
	pbxCA, clientCA, strangerCA := newTLSPKI(t, "PBX CA"), newTLSPKI(t, "Client CA"), newTLSPKI(t, "Stranger CA")
	good := clientCA.issue(testca.Leaf{Names: []string{"gateway.example.test"}, ClientAuth: true})
	goodCert, goodKey := clientCA.pair("good", good)
	strangerCert, strangerKey := strangerCA.pair("stranger", strangerCA.issue(testca.Leaf{Names: []string{"gateway.example.test"}, ClientAuth: true}))
	for _, version := range []struct {
		name string
		max  uint16
	}{{"TLS 1.3", 0}, {"TLS 1.2", tls.VersionTLS12}} {
		t.Run(version.name, func(t *testing.T) {
			for _, tc := range []struct {
				name      string
				cert, key string
				want      string
			}{
				{name: "with the certificate", cert: goodCert, key: goodKey},
				{name: "without", want: "the PBX asks for a client certificate and refused the connection without one: set sip.tls_cert and sip.tls_key"},
				{name: "from a CA the PBX does not trust", cert: strangerCert, key: strangerKey,
					want: "the PBX refused the gateway's client certificate (sip.tls_cert, CN=gateway.example.test)"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					f := newTLSPBX(t, tlsPBXOptions{cert: pbxCA.issue(testca.Leaf{Names: []string{"127.0.0.1"}}), pki: pbxCA,
						requireClient: true, clientCA: clientCA, maxVersion: version.max})
					rec := newRecorder()
					cfg := tlsConfig(f.fakePBX, func(c *config.SIP) { c.TLSCA, c.TLSCert, c.TLSKey = pbxCA.caFile(), tc.cert, tc.key })
					runUA(t, cfg, rec, Options{Logger: testLogger()}, 500*time.Millisecond)
					if tc.want == "" {
						waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
						if s := f.clientSerials(); len(s) == 0 || s[0].Cmp(good.Serial) != 0 {
							t.Errorf("client certificates seen %v, want %v", s, good.Serial)
						}
						return
					}
					if err := waitRegFailure(t, rec); !strings.Contains(err.Error(), tc.want) {
						t.Errorf("registration error %v, want %q", err, tc.want)
					}
				})
			}
		})
	}
}

// TestTLSClientCertificateRenewed: renewed sip.tls_cert files are taken
// into use without a restart; the next connection presents the new
// certificate, and one that cannot be used keeps the old one in use.
func TestTLSClientCertificateRenewed(t *testing.T) {
	pbxCA, clientCA := newTLSPKI(t, "PBX CA"), newTLSPKI(t, "Client CA")
	first := clientCA.issue(testca.Leaf{Names: []string{"gateway.example.test"}, ClientAuth: true})
	certFile, keyFile := clientCA.pair("gw", first)
	f := newTLSPBX(t, tlsPBXOptions{cert: pbxCA.issue(testca.Leaf{Names: []string{"127.0.0.1"}}), pki: pbxCA,
		requireClient: true, clientCA: clientCA})
	rec := newRecorder()
	u, _ := runUA(t, tlsConfig(f.fakePBX, func(c *config.SIP) { c.TLSCA, c.TLSCert, c.TLSKey = pbxCA.caFile(), certFile, keyFile }),
		rec, Options{Logger: testLogger()}, 500*time.Millisecond)
	waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })

	second := clientCA.issue(testca.Leaf{Names: []string{"gateway.example.test"}, ClientAuth: true})
	clientCA.pair("gw", second)
	deadline := time.Now().Add(5 * time.Second)
	for u.tls.cert.Status().Reloads == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("renewed client certificate not loaded: %+v", u.tls.cert.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A new connection, as after the PBX closed the old one.
	if e := u.tls.diagnoseTLS(context.Background(), f.addr); e != nil {
		t.Fatalf("connection with the renewed certificate: %v", e)
	}
	if s := f.clientSerials(); s[len(s)-1].Cmp(second.Serial) != 0 {
		t.Errorf("the new connection presented %v, want the renewed %v", s[len(s)-1], second.Serial)
	}
	clientCA.write("gw-key.pem", first.KeyPEM) // the old key with the new certificate
	for u.tls.cert.Status().Err == nil {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("a mismatched key was not refused")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if e := u.tls.diagnoseTLS(context.Background(), f.addr); e != nil {
		t.Fatalf("connection after a refused renewal: %v", e)
	}
	if s := f.clientSerials(); s[len(s)-1].Cmp(second.Serial) != 0 {
		t.Errorf("after a refused renewal the connection presented %v, want %v still", s[len(s)-1], second.Serial)
	}
	if st := u.Status().TLSCert; st == nil || st.Reloads != 1 || st.Err == nil || !st.NotAfter.Equal(second.NotAfter.Truncate(time.Second)) {
		t.Errorf("Status.TLSCert = %+v, want the renewed certificate, one reload and the refused change", st)
	}
}

// TestTLSListener: with sip.tls_cert the UA listens for TLS on
// sip.listen, its Contact names the listener with transport=tls, and the
// PBX's own requests (a NOTIFY, an agent's MESSAGE) reach it over
// connections the PBX opens there, verifying the gateway's certificate,
// and its CRLF keepalive pings are answered. Connections from untrusted
// sources are closed before any TLS work; a refused handshake is logged.
// Without a certificate nothing listens.
func TestTLSListener(t *testing.T) {
	pbxCA, gwCA := newTLSPKI(t, "PBX CA"), newTLSPKI(t, "Gateway CA")
	certFile, keyFile := gwCA.pair("gw", gwCA.issue(testca.Leaf{Names: []string{"127.0.0.1"}, ClientAuth: true}))
	f := newTLSPBX(t, tlsPBXOptions{cert: pbxCA.issue(testca.Leaf{Names: []string{"127.0.0.1"}}), pki: pbxCA, gatewayCA: gwCA})
	h := newMsgRecorder(200)
	var logs syncBuffer
	u, _ := runUA(t, tlsConfig(f.fakePBX, func(c *config.SIP) { c.TLSCA, c.TLSCert, c.TLSKey = pbxCA.caFile(), certFile, keyFile }),
		h, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, 500*time.Millisecond)
	u.SetSubscriptions([]Target{{URI: "sip:101@example.test", Event: EventPresence}})
	waitFor(t, h.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
	first := f.firstOf(sip.REGISTER, sip.SUBSCRIBE)
	reg, sub := first[sip.REGISTER], first[sip.SUBSCRIBE]
	contact := reg.Contact().Address
	if tp, _ := contact.UriParams.Get("transport"); tp != "tls" || u.LocalAddr() == "" || contact.Port != portOf(u.LocalAddr()) {
		t.Fatalf("Contact %s, listening on %q: want transport=tls and the listener's port", contact.String(), u.LocalAddr())
	}
	if got := f.notify(sub, "pbx1", 1, "active;expires=60", "application/pidf+xml", pidf); got != 200 {
		t.Fatalf("NOTIFY over the PBX's own TLS connection answered %d", got)
	}
	waitFor(t, h.notes, "notification", func(n Notification) bool { return n.Target.URI == "sip:101@example.test" })
	if got := f.send(agentMessage(u)); got != 200 {
		t.Fatalf("agent MESSAGE over TLS answered %d", got)
	}
	if m := waitFor(t, h.msgs, "message", func(IncomingMessage) bool { return true }); m.Transport != "TLS" {
		t.Errorf("MESSAGE arrived over %q, want TLS", m.Transport)
	}

	before := u.Status().Rejected[RejectUntrusted]
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 2 * time.Second}
	c, err := tls.DialWithDialer(&d, "tcp", u.LocalAddr(), &tls.Config{RootCAs: gwCA.ca.Pool()})
	if err == nil {
		c.Close()
		t.Error("a TLS handshake from an untrusted source succeeded")
	}
	if after := u.Status().Rejected[RejectUntrusted]; after != before+1 {
		t.Errorf("untrusted connections counted %d, want %d", after, before+1)
	}

	// RFC 5626 keepalive: a CRLF ping from the PBX gets its pong.
	ping, err := tls.Dial("tcp", u.LocalAddr(), &tls.Config{RootCAs: gwCA.ca.Pool()})
	if err != nil {
		t.Fatalf("TLS connection from the PBX's address: %v", err)
	}
	defer ping.Close()
	_ = ping.SetDeadline(time.Now().Add(3 * time.Second))
	pong := make([]byte, 2)
	if _, err := ping.Write([]byte("\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(ping, pong); err != nil || string(pong) != "\r\n" {
		t.Errorf("CRLF ping answered %q, %v; want CRLF", pong, err)
	}

	// A PBX that does not trust the gateway's certificate: the handshake
	// fails and the gateway says so.
	c, err = tls.Dial("tcp", u.LocalAddr(), &tls.Config{RootCAs: pbxCA.ca.Pool()})
	if err == nil {
		c.Close()
		t.Error("a PBX that does not trust the gateway's certificate completed a handshake")
	}
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(logs.String(), "sip TLS connection from the PBX failed") {
		if time.Now().After(deadline) {
			t.Fatalf("a refused handshake was not logged:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	t.Run("without a certificate", func(t *testing.T) {
		rec := newRecorder()
		u, _ := runUA(t, tlsConfig(f.fakePBX, func(c *config.SIP) { c.TLSCA = pbxCA.caFile() }), rec, Options{Logger: testLogger()}, 500*time.Millisecond)
		waitFor(t, rec.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
		reg := f.next(sip.REGISTER)
		if u.LocalAddr() != "" || reg.Contact().Address.Port != 0 {
			t.Errorf("without a certificate: listening on %q, Contact %s", u.LocalAddr(), reg.Contact().Address.String())
		}
	})
}

// TestSIPSURIs: with a sips: registrar the UA's address of record (From,
// and To of REGISTER), the REGISTER's Request-URI and its Contact are sips:
// URIs (the Contact without transport=tls, which sips: implies), all over
// TLS; agents keep the scheme they are written with: sips: asks the PBX
// for TLS all the way to the agent's phone (RFC 5630), sip: only for the
// hop to the PBX. Transports other than TLS are refused.
func TestSIPSURIs(t *testing.T) {
	pbxCA, gwCA := newTLSPKI(t, "PBX CA"), newTLSPKI(t, "Gateway CA")
	certFile, keyFile := gwCA.pair("gw", gwCA.issue(testca.Leaf{Names: []string{"127.0.0.1"}, ClientAuth: true}))
	f := newTLSPBX(t, tlsPBXOptions{cert: pbxCA.issue(testca.Leaf{Names: []string{"127.0.0.1"}}), pki: pbxCA, gatewayCA: gwCA})
	h := newMsgRecorder(200)
	cfg := tlsConfig(f.fakePBX, func(c *config.SIP) {
		c.Registrar, c.Transport, c.TLSCA, c.TLSCert, c.TLSKey = "sips:"+f.addr, "", pbxCA.caFile(), certFile, keyFile
	})
	u, _ := runUA(t, cfg, h, Options{Logger: testLogger()}, 500*time.Millisecond)
	u.SetSubscriptions([]Target{{URI: "sip:101@example.test", Event: EventDialog}})
	waitFor(t, h.regs, "registered", func(e regEvent) bool { return e.state == RegRegistered })
	first := f.firstOf(sip.REGISTER, sip.SUBSCRIBE)
	reg, sub := first[sip.REGISTER], first[sip.SUBSCRIBE]
	if _, err := u.SendMessage(context.Background(), OutgoingMessage{To: "sips:102@example.test", Body: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	msg := f.next(sip.MESSAGE)
	for _, c := range []struct {
		r      *sip.Request
		target string
	}{{reg, "sips"}, {sub, "sip"}, {msg, "sips"}} {
		r := c.r
		if r.Recipient.Scheme != c.target || r.To().Address.Scheme != c.target || r.From().Address.Scheme != "sips" || r.Transport() != "TLS" {
			t.Errorf("%s: Request-URI %s, To %s, From %s over %s: want %s: to, sips: from, over TLS", r.Method,
				r.Recipient.String(), r.To().Address.String(), r.From().Address.String(), r.Transport(), c.target)
		}
	}
	for _, r := range []*sip.Request{reg, sub} {
		if c := r.Contact().Address; c.Scheme != "sips" || c.UriParams.Has("transport") {
			t.Errorf("%s Contact %s, want a sips: URI without transport", r.Method, c.String())
		}
	}

	for _, transport := range []string{"udp", "tcp"} {
		if _, err := New(config.SIP{Registrar: "sips:pbx.example.com", Username: "gw", Transport: transport}, newRecorder(), Options{}); err == nil ||
			!strings.Contains(err.Error(), "transport must be tls") {
			t.Errorf("sips: registrar over %s: %v", transport, err)
		}
	}
}

// TestTLSName: the PBX's certificate must hold the outbound proxy's host
// when there is one, else the registrar's; a reload that changes them
// changes the name; the TLS keys need a restart.
func TestTLSName(t *testing.T) {
	s, err := parseSettings(config.SIP{Registrar: "pbx.example.com", Username: "gw", Transport: "tls"})
	if err != nil {
		t.Fatal(err)
	}
	if s.tlsName() != "pbx.example.com" || s.pbxAddr() != "pbx.example.com:5061" {
		t.Errorf("without a proxy: name %q, address %q", s.tlsName(), s.pbxAddr())
	}
	s, err = parseSettings(config.SIP{Registrar: "pbx.example.com", OutboundProxy: "sips:edge.example.com:5071", Username: "gw", Transport: "tls"})
	if err != nil {
		t.Fatal(err)
	}
	if s.tlsName() != "edge.example.com" || s.pbxAddr() != "edge.example.com:5071" {
		t.Errorf("with a proxy: name %q, address %q", s.tlsName(), s.pbxAddr())
	}
	a := config.SIP{TLSCA: "a.pem", TLSCert: "c.pem", TLSKey: "k.pem"}
	b := config.SIP{TLSCA: "b.pem", TLSCert: "c2.pem", TLSKey: "k2.pem", TLSInsecure: true}
	if got := strings.Join(transportChanges(a, b), ","); got != "sip.tls_insecure,sip.tls_ca,sip.tls_cert,sip.tls_key" {
		t.Errorf("transportChanges = %s", got)
	}
}
