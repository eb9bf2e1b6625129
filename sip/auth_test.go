package sip

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// authHeaderValues returns the WWW-Authenticate values of a corpus file,
// unfolding continuation lines.
func authHeaderValues(t testing.TB, name string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "register", name))
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	for _, line := range strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n") {
		switch {
		case (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(vals) > 0:
			vals[len(vals)-1] += " " + strings.TrimSpace(line)
		case strings.HasPrefix(strings.ToLower(line), "www-authenticate:"):
			vals = append(vals, strings.TrimSpace(line[len("www-authenticate:"):]))
		}
	}
	return vals
}

func TestChooseChallengesCorpus(t *testing.T) {
	type pick struct{ realm, nonce, alg string }
	for _, tc := range []struct {
		file string
		want []pick
	}{
		{file: "cirpack-ovh-401-empty-reason-folded-www-auth.txt", want: []pick{{"sip.ovh.net", "24212965507cde726e8bc37e04686459", "MD5"}}},
		{file: "cirpack-ovh-401-stale-false-unquoted-algo.txt", want: []pick{{"sip.ovh.net", "24212965507cde726e8bc37e04686459", "MD5"}}},
		{file: "flexisip-401-md5-qop-opaque.txt", want: []pick{{"sip.linphone.org", "WR5i2QAAAAA9uY8IAADQ03f3p94AAAAA", "MD5"}}},
		{file: "www-auth-alu-ims-folded-multiline.txt", want: []pick{{"toto.com", "b543409177c9036dbf3054aea940e9703dc8f84c0108", "MD5"}}},
		{file: "www-auth-lowercase-digest-no-nonce-stale-true.txt", want: nil},
		{file: "www-auth-sha256-qop-auth-auth-int-rfc7616.txt", want: []pick{{"http-auth@example.org", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "SHA-256"}}},
		{file: "www-auth-stale-true-domain-qop-list-folded.txt", want: []pick{{"atlanta.com", "c60f3082ee1212b402a21831ae", "MD5"}}},
		{file: "www-auth-three-headers-sha256-md5-md2-flexisip-style.txt", want: []pick{{"sip.linphone.org", "PARV4gAAAADgw3asAADW8zsi5BEAAAAA", "SHA-256"}}},
		{file: "www-auth-two-challenges-one-header-comma.txt", want: []pick{{"atlanta.com", "c60f3082ee1212b402a21831ae", "SHA-256"}}},
		{file: "www-auth-two-realms-minimal.txt", want: []pick{{"python1", "1234", ""}, {"python2", "6789", ""}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			vals := authHeaderValues(t, tc.file)
			if len(vals) == 0 {
				t.Fatal("no WWW-Authenticate in file")
			}
			got := chooseChallenges(parseChallenges(vals))
			if len(got) != len(tc.want) {
				t.Fatalf("chose %d challenges %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				if got[i].Realm != w.realm || got[i].Nonce != w.nonce || got[i].Algorithm != w.alg {
					t.Errorf("challenge %d = %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
}

func TestParseChallengesDetails(t *testing.T) {
	cs := parseChallenges([]string{`digest realm="r",stale=TRUE, nonce="a\"b", qop="auth,auth-int", opaque=x`})
	if len(cs) != 1 {
		t.Fatalf("got %+v", cs)
	}
	c := cs[0]
	if !c.Stale || c.Nonce != `a"b` || c.Opaque != "x" || len(c.QOP) != 2 || c.QOP[1] != "auth-int" {
		t.Errorf("parsed %+v", c)
	}
	// qop offered without "auth" cannot be answered.
	if got := chooseChallenges(parseChallenges([]string{`Digest realm="r", nonce="n", qop="auth-int"`})); len(got) != 0 {
		t.Errorf("chose %+v", got)
	}
}

// Published test vectors: RFC 2617 section 3.5 (MD5) and RFC 7616 section
// 3.9.1 (SHA-256).
func TestAuthorizationVectors(t *testing.T) {
	for _, tc := range []struct {
		name, header, password, cnonce, want string
	}{
		{
			name:     "rfc2617 md5",
			header:   `Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`,
			password: "Circle Of Life", cnonce: "0a4f113b",
			want: `response="6629fae49393a05397450978507c4ef1"`,
		},
		{
			name:     "rfc7616 sha-256",
			header:   `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
			password: "Circle of Life", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
			want: `response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := chooseChallenges(parseChallenges([]string{tc.header}))
			if len(cs) != 1 {
				t.Fatalf("chose %+v", cs)
			}
			got := cs[0].authorization("Mufasa", tc.password, "GET", "/dir/index.html", tc.cnonce, 1)
			for _, part := range []string{tc.want, `username="Mufasa"`, "qop=auth", "nc=00000001", `cnonce="` + tc.cnonce + `"`} {
				if !strings.Contains(got, part) {
					t.Errorf("%s lacks %s", got, part)
				}
			}
		})
	}
}
