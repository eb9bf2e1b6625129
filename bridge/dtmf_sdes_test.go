package bridge

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

func TestSendDTMF(t *testing.T) {
	e := testEngine(t, engineCfg{})
	es := establish(t, e, CallOptions{ID: "dtmf"}, nil)
	eventually(t, "browser audio at the PBX", func() bool {
		es.b.send(0, 1, 160, []byte("v"))
		return len(es.p.received()) > 0
	})
	audio := es.p.received()[0]
	if err := es.call.SendDTMF(context.Background(), '#', 100*time.Millisecond); err != nil {
		t.Fatalf("SendDTMF: %v", err)
	}
	var ev []*rtp.Packet
	eventually(t, "end packets", func() bool {
		ev = ev[:0]
		for _, p := range es.p.received() {
			if p.PayloadType == 101 {
				ev = append(ev, p)
			}
		}
		return len(ev) >= 7 // 4 progress packets (20..80 ms) + 3 ends
	})
	if len(ev) != 7 {
		t.Fatalf("got %d event packets, want 7", len(ev))
	}
	for i, p := range ev {
		end := p.Payload[1]&0x80 != 0
		dur := be16(p.Payload[2:])
		switch {
		case p.SSRC != audio.SSRC:
			t.Errorf("packet %d: SSRC %x, audio uses %x", i, p.SSRC, audio.SSRC)
		case p.Timestamp != ev[0].Timestamp:
			t.Errorf("packet %d: timestamp %d differs from the event start %d", i, p.Timestamp, ev[0].Timestamp)
		case p.Marker != (i == 0):
			t.Errorf("packet %d: marker %v", i, p.Marker)
		case p.Payload[0] != 11 || p.Payload[1]&0x3f != dtmfVolume:
			t.Errorf("packet %d: event %d volume %d", i, p.Payload[0], p.Payload[1]&0x3f)
		case end != (i >= 4):
			t.Errorf("packet %d: end bit %v", i, end)
		case !end && dur != uint16(160*(i+1)):
			t.Errorf("packet %d: duration %d, want %d", i, dur, 160*(i+1))
		case end && dur != 800:
			t.Errorf("end packet %d: duration %d, want 800", i, dur)
		}
		if i > 0 && p.SequenceNumber != ev[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: seq %d after %d", i, p.SequenceNumber, ev[i-1].SequenceNumber)
		}
	}
	if err := es.call.SendDTMF(context.Background(), 'x', time.Second); err == nil {
		t.Error("SendDTMF('x') accepted")
	}
	// Audio after the event continues the sequence.
	n := len(es.p.received())
	es.b.send(0, 2, 320, []byte("after"))
	eventually(t, "audio after DTMF", func() bool { return len(es.p.received()) > n })
	if last := es.p.received()[n]; last.SequenceNumber != ev[6].SequenceNumber+1 || last.Timestamp-ev[0].Timestamp < 800 {
		t.Errorf("audio after DTMF: seq %d ts %d; event ended at seq %d ts %d", last.SequenceNumber, last.Timestamp, ev[6].SequenceNumber, ev[0].Timestamp)
	}
}

func TestSendDTMFWithoutTelephoneEvent(t *testing.T) {
	e := testEngine(t, engineCfg{})
	es := establish(t, e, CallOptions{ID: "info"}, func(port int) []byte { return pbxAnswer(port, "sendrecv", "0 PCMU/8000") })
	if err := es.call.SendDTMF(context.Background(), '1', 100*time.Millisecond); !errors.Is(err, ErrNoTelephoneEvent) {
		t.Errorf("err = %v, want ErrNoTelephoneEvent", err)
	}
}

func TestSDESRoundTrip(t *testing.T) {
	e := testEngine(t, engineCfg{sdes: true})
	pbxKey := make([]byte, 30)
	if _, err := rand.Read(pbxKey); err != nil {
		t.Fatal(err)
	}
	var p *pbx
	es := establish(t, e, CallOptions{ID: "sdes"}, func(port int) []byte {
		sdp := strings.Replace(string(pbxAnswer(port, "sendrecv", "0 PCMU/8000", "101 telephone-event/8000")), "RTP/AVP", "RTP/SAVP", 1)
		return []byte(sdp + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(pbxKey) + "\r\n")
	})
	p = es.p
	off, err := parseSDP(es.gw)
	if err != nil || off.media[0].proto != "RTP/SAVP" || len(off.media[0].cryptos) != 1 {
		t.Fatalf("SDES offer: %v\n%s", err, es.gw)
	}
	gwKey, err := base64.StdEncoding.DecodeString(off.media[0].cryptos[0].key)
	if err != nil || len(gwKey) != 30 {
		t.Fatalf("gateway key: %v", err)
	}
	dec, err := srtp.CreateContext(gwKey[:16], gwKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.decrypt = func(b []byte) ([]byte, error) { return dec.DecryptRTP(nil, b, nil) }
	p.mu.Unlock()
	eventually(t, "decryptable SRTP at the PBX", func() bool {
		es.b.send(0, 5, 800, []byte("secret-voice"))
		got := p.received()
		return len(got) > 0 && string(got[0].Payload) == "secret-voice"
	})
	enc, err := srtp.CreateContext(pbxKey[:16], pbxKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	pk := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 9, Timestamp: 90, SSRC: 0x5eed}, Payload: []byte("pbx-secret")}
	raw, _ := pk.Marshal()
	ct, err := enc.EncryptRTP(nil, raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.conn.WriteToUDPAddrPort(ct, gwAddr(t, es.gw)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "decrypted PBX audio at the browser", func() bool {
		got := es.b.received()
		return len(got) > 0 && string(got[0].Payload) == "pbx-secret"
	})
	// Plain RTP answer to an SDES offer is refused.
	b := newBrowser(t, false)
	c, err := e.NewCall(b.offer(), CallOptions{ID: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.SIPAnswer(pbxAnswer(p.port(), "sendrecv", "0 PCMU/8000"), true); !errors.Is(err, ErrIncompatibleAnswer) {
		t.Errorf("plain answer with sdes: %v", err)
	}
}
