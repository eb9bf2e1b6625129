package doctor

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
)

func TestParseRemoteAnswer(t *testing.T) {
	key := sdesKey()
	ans := offer{ip: netip.MustParseAddr("192.0.2.7"), port: 40000, dir: "recvonly", key: key, version: 3,
		formats: []codec{offered[3], offered[5]}}.marshal()
	r, err := parseRemote(ans)
	if err != nil {
		t.Fatal(err)
	}
	if r.addr.String() != "192.0.2.7:40000" || r.proto != "RTP/SAVP" || r.dir != "recvonly" ||
		r.audio == nil || r.audio.String() != "opus/48000/2" || r.te == nil || r.te.pt != 110 {
		t.Fatalf("parsed %+v audio %v te %v", r, r.audio, r.te)
	}
	if r.crypto == nil || r.crypto.suite != sdesSuite || !bytes.Equal(r.crypto.key, key) {
		t.Errorf("crypto %+v", r.crypto)
	}

	// A static payload type without rtpmap, telephone-event of another
	// rate, a session-level direction, a codec the doctor never offered.
	plain := "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=sendonly\r\n" +
		"m=audio 5004 RTP/AVP 18 8 96\r\na=rtpmap:96 telephone-event/48000\r\n"
	r, err = parseRemote([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	if r.audio == nil || r.audio.name != "PCMA" || r.te != nil || r.dir != "sendonly" || len(r.formats) != 3 {
		t.Errorf("parsed %+v audio %v te %v", r, r.audio, r.te)
	}
	if _, err := parseRemote([]byte("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 5004 RTP/AVP 96\r\n")); err == nil {
		t.Error("an SDP without audio parsed")
	}
	if r, _ := parseRemote([]byte("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 18\r\n")); r.audio != nil {
		t.Errorf("G.729 only: audio %v, want none the gateway carries", r.audio)
	}
}

func TestAnswerToMirrorsTheOffer(t *testing.T) {
	pbx := "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" +
		"m=audio 5004 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n"
	out, err := answerTo([]byte(pbx), netip.MustParseAddr("127.0.0.1"), 30000, sdesKey(), 9)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if !strings.Contains(s, "m=audio 30000 RTP/AVP 0 101\r\n") || !strings.Contains(s, "a=recvonly") || strings.Contains(s, "crypto") {
		t.Errorf("answer:\n%s", s)
	}
}

func TestEventCodes(t *testing.T) {
	for _, k := range []byte("0123456789*#ABCD") {
		if got := digitOf(eventCode(k)); got != k {
			t.Errorf("key %q came back as %q", k, got)
		}
	}
}

// TestMediaBothWaysWithSRTP: two media ends with each other's SDES keys
// carry frames and RFC 4733 keys; packets under a wrong key are refused.
func TestMediaBothWaysWithSRTP(t *testing.T) {
	a, err := newMedia("127.0.0.1", 30000, 30999)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	b, err := newMedia("127.0.0.1", 30000, 30999)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	keyA, keyB := sdesKey(), sdesKey()
	sdpOf := func(m *media, key []byte) remoteSDP {
		r, err := parseRemote(offer{ip: m.local.Addr(), port: int(m.local.Port()), dir: "sendrecv", key: key, version: 1,
			formats: []codec{offered[0], offered[4]}}.marshal())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ra, err := routeFor(sdpOf(b, keyB), keyA) // a sends to b with its key, reads b's
	if err != nil {
		t.Fatal(err)
	}
	rb, err := routeFor(sdpOf(a, keyA), keyB)
	if err != nil {
		t.Fatal(err)
	}
	a.setRoute(ra)
	b.setRoute(rb)
	if err := a.sendKeys("5*", 3*time.Second); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for b.stats().digits != "5*" || b.stats().pts[0] == 0 || a.stats().received < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("a %+v, b %+v", a.stats(), b.stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := b.stats(); st.pts[0] == 0 || st.pts[101] == 0 || st.source != a.local || st.rejected != 0 {
		t.Errorf("b received %+v", st)
	}
	// b now reads with a key a does not use.
	wrong, err := routeFor(sdpOf(a, sdesKey()), keyB)
	if err != nil {
		t.Fatal(err)
	}
	b.setRoute(wrong)
	before := b.stats().rejected
	for b.stats().rejected < before+5 {
		if time.Now().After(deadline.Add(3 * time.Second)) {
			t.Fatalf("packets under another key not refused: %+v", b.stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDoctorSIPHasItsOwnPort(t *testing.T) {
	s := doctorSIP(config.SIP{Listen: "0.0.0.0:5060", PublicAddress: "203.0.113.9:5060", ResourceList: config.ResourceList{Presence: "sip:team@pbx"}})
	if s.Listen != "0.0.0.0:0" || s.PublicAddress != "203.0.113.9" || s.ResourceList.Presence != "" {
		t.Errorf("doctor SIP %+v", s)
	}
	if s := doctorSIP(config.SIP{Listen: "127.0.0.1:5070"}); s.Listen != "127.0.0.1:0" || s.PublicAddress != "" {
		t.Errorf("doctor SIP %+v", s)
	}
}

func TestChallengeSummary(t *testing.T) {
	got := challengeSummary(`Digest realm="pbx.example", nonce="abc", qop="auth", algorithm=SHA-256, opaque="x"`)
	if got != `Digest realm="pbx.example" qop="auth" algorithm=SHA-256` {
		t.Errorf("got %q", got)
	}
}

func TestAgentRefs(t *testing.T) {
	cfg, _, err := config.Parse("t.yaml", []byte(`sip: {registrar: pbx.test, username: gw, password: x}
widgets:
  - id: 4b3a29180f6e4d5c8b7a69584736251a
    type: cards
    name: Team
    agents:
      - {id: alice, sip: alice}
      - {id: queue, sip: alice, mode: always}
      - {id: night, sip: bob, mode: boolean, boolean: day}
      - {id: away, sip: carol, mode: inactive}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	refs := agentRefs(cfg)
	if len(refs) != 3 {
		t.Fatalf("refs %+v", refs)
	}
	alice, day, bob := refs[0], refs[1], refs[2]
	if alice.uri != "sip:alice@pbx.test" || !alice.presence || !alice.dialog || !alice.call || len(alice.who) != 2 || alice.where != "t.yaml:7" {
		t.Errorf("alice %+v", alice)
	}
	if day.uri != "sip:day@pbx.test" || !day.presence || day.dialog || day.call {
		t.Errorf("boolean %+v", day)
	}
	if bob.uri != "sip:bob@pbx.test" || bob.presence || !bob.call {
		t.Errorf("bob %+v", bob)
	}
}

func TestReportLines(t *testing.T) {
	var out bytes.Buffer
	r := NewReport(&out)
	r.OK("fine")
	r.Add(Line{Status: StatusFail, Text: "broken\nsecond line", Cause: "a cause", Fix: &Advice{Setting: "sip.password", Kamailio: "k", Asterisk: "a", FreeSWITCH: "f"}})
	r.Skip("later")
	want := "  [ ok ] fine\n  [FAIL] broken\n           second line\n         likely cause: a cause\n         change: sip.password\n" +
		"         Kamailio: k\n         Asterisk: a\n         FreeSWITCH: f\n  [ -- ] later\n"
	if out.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", out.String(), want)
	}
	if !r.Failed() || r.Count(StatusOK) != 1 || r.Count(StatusSkip) != 1 {
		t.Errorf("counts %v", r.counts)
	}
}
