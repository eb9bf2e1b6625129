package sip

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

type progressEv struct {
	code int
	sdp  []byte
}

type dtmfEv struct {
	digit byte
	dur   time.Duration
}

type endEv struct {
	cause  EndCause
	code   int
	reason string
}

// legEvents records CallEvents; Reoffer answers with reofferAnswer.
type legEvents struct {
	progress  chan progressEv
	answered  chan []byte
	reoffers  chan []byte
	reanswers chan []byte
	dtmf      chan dtmfEv
	ended     chan endEv
	nEnded    atomic.Int32
	nAnswered atomic.Int32
}

func newLegEvents() *legEvents {
	return &legEvents{progress: make(chan progressEv, 10), answered: make(chan []byte, 10),
		reoffers: make(chan []byte, 10), reanswers: make(chan []byte, 10), dtmf: make(chan dtmfEv, 10),
		ended: make(chan endEv, 10)}
}

const reofferAnswer = "v=0\r\no=fd 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=recvonly\r\n"

func (e *legEvents) Progress(code int, sdp []byte) { e.progress <- progressEv{code, sdp} }
func (e *legEvents) Answered(sdp []byte)           { e.nAnswered.Add(1); e.answered <- sdp }
func (e *legEvents) Reoffer(sdp []byte) ([]byte, error) {
	e.reoffers <- sdp
	if strings.Contains(string(sdp), "m=video") {
		return nil, errors.New("no video")
	}
	return []byte(reofferAnswer), nil
}
func (e *legEvents) OfferRequest() []byte           { return []byte(offerSDP) }
func (e *legEvents) Reanswer(sdp []byte)            { e.reanswers <- sdp }
func (e *legEvents) DTMF(d byte, dur time.Duration) { e.dtmf <- dtmfEv{d, dur} }
func (e *legEvents) Ended(c EndCause, code int, reason string) {
	e.nEnded.Add(1)
	e.ended <- endEv{c, code, reason}
}

func (e *legEvents) waitEnded(t *testing.T) endEv {
	t.Helper()
	return waitFor(t, e.ended, "Ended", func(endEv) bool { return true })
}

func call(t *testing.T, u *UA, ev *legEvents, name string) *Leg {
	t.Helper()
	l, err := u.Call(context.Background(), CallRequest{Target: "sip:agent@example.test", DisplayName: name, SDP: []byte(offerSDP)}, ev)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	return l
}

func hangup(t *testing.T, l *Leg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := l.Hangup(ctx); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
}

func challengeInvite(c *uasCall) bool {
	if c.req.GetHeader("Authorization") != nil {
		return false
	}
	res := sip.NewResponseFromRequest(c.req, 401, "Unauthorized", nil)
	res.To().Params.Add("tag", c.toTag)
	res.AppendHeader(sip.NewHeader("WWW-Authenticate", `Digest realm="fake.test", nonce="n-invite", qop="auth", algorithm=MD5, opaque="op1"`))
	_ = c.tx.Respond(res)
	return true
}

func TestCallAuthProgressAnswerHangup(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	f.setScript(func(c *uasCall) {
		if challengeInvite(c) {
			return
		}
		c.respond(180, "")
		c.respond(183, earlySDP)
		c.respond(200, answerSDP, sip.NewHeader("Record-Route", "<sip:"+f.addr+";lr;ftag=rr1>"))
	})
	u, _ := startCallUA(t, f, nil)
	ev := newLegEvents()
	l := call(t, u, ev, "Alice")

	first := f.nextCall().req
	authed := f.nextCall().req
	if authed.CSeq().SeqNo != first.CSeq().SeqNo+1 || authed.CallID().Value() != first.CallID().Value() || authed.CallID().Value() != l.CallID() {
		t.Errorf("retry CSeq %v Call-ID %v, first %v %v", authed.CSeq(), authed.CallID(), first.CSeq(), first.CallID())
	}
	checkDigest(t, authed.GetHeader("Authorization").Value(), "INVITE", "s3cret-pw")
	if got := authed.From().Value(); !strings.HasPrefix(got, `"Alice" <sip:frontdesk@example.test>;tag=`) {
		t.Errorf("From %s", got)
	}
	if got := authed.Recipient.String(); got != "sip:agent@example.test" {
		t.Errorf("Request-URI %s", got)
	}
	if firstValue(authed, "Supported") != "timer" || string(authed.Body()) != offerSDP || authed.Contact() == nil {
		t.Errorf("INVITE headers/body: %s", authed.String())
	}

	if p := waitFor(t, ev.progress, "180", func(progressEv) bool { return true }); p.code != 180 || p.sdp != nil {
		t.Errorf("first Progress %d %q", p.code, p.sdp)
	}
	if p := waitFor(t, ev.progress, "183", func(progressEv) bool { return true }); p.code != 183 || string(p.sdp) != earlySDP {
		t.Errorf("second Progress %d %q", p.code, p.sdp)
	}
	if sdp := waitFor(t, ev.answered, "Answered", func([]byte) bool { return true }); string(sdp) != answerSDP {
		t.Errorf("Answered %q", sdp)
	}
	ack := f.next(sip.ACK)
	if ack.CSeq().SeqNo != authed.CSeq().SeqNo || ack.Recipient.User != "agent" || ack.Recipient.Port != portOf(f.addr) {
		t.Errorf("ACK %s", ack.String())
	}
	if r := ack.GetHeader("Route"); r == nil || !strings.Contains(r.Value(), "ftag=rr1") {
		t.Errorf("ACK without the route set: %s", ack.String())
	}

	hangup(t, l)
	bye := f.next(sip.BYE)
	if bye.CSeq().SeqNo <= authed.CSeq().SeqNo || bye.GetHeader("Route") == nil || bye.To().Params.GetOr("tag", "") == "" {
		t.Errorf("BYE %s", bye.String())
	}
	if e := ev.waitEnded(t); e.cause != EndLocalHangup {
		t.Errorf("Ended %+v", e)
	}
	hangup(t, l) // idempotent
	if n := ev.nEnded.Load(); n != 1 {
		t.Errorf("Ended %d times", n)
	}
}

func TestCallFinalStatus(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	u, _ := startCallUA(t, f, nil)
	for _, tc := range []struct {
		name   string
		code   int
		reason string // Reason header
		want   EndCause
	}{
		{name: "busy", code: 486, want: EndBusy},
		{name: "declined", code: 603, want: EndDeclined},
		{name: "not found", code: 404, want: EndUnavailable},
		{name: "480 no answer per Q.850", code: 480, reason: "Q.850;cause=19;text=\"NO_ANSWER\"", want: EndNoAnswer},
		{name: "server error", code: 500, want: EndFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.setScript(func(c *uasCall) {
				var hdrs []sip.Header
				if tc.reason != "" {
					hdrs = append(hdrs, sip.NewHeader("Reason", tc.reason))
				}
				c.respond(tc.code, "", hdrs...)
			})
			ev := newLegEvents()
			l := call(t, u, ev, "")
			e := ev.waitEnded(t)
			if e.cause != tc.want || e.code != tc.code {
				t.Errorf("Ended %+v, want %s %d", e, tc.want, tc.code)
			}
			<-l.Done()
			if err := l.SendDTMF(context.Background(), '1', 0); !errors.Is(err, ErrLegEnded) {
				t.Errorf("SendDTMF after end: %v", err)
			}
		})
	}
}

func TestCallCancel(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	f.setScript(ringUntilCancel)
	u, _ := startCallUA(t, f, nil)

	ev := newLegEvents()
	l := call(t, u, ev, "")
	c := f.nextCall()
	waitFor(t, ev.progress, "180", func(p progressEv) bool { return p.code == 180 })
	hangup(t, l)
	select {
	case <-c.cancel:
	default:
		t.Error("the UAS saw no CANCEL")
	}
	if e := ev.waitEnded(t); e.cause != EndCancelled || e.code != 487 {
		t.Errorf("Ended %+v, want cancelled 487", e)
	}

	// A setup context that runs out is a no-answer.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	ev = newLegEvents()
	if _, err := u.Call(ctx, CallRequest{Target: "sip:agent@example.test", SDP: []byte(offerSDP)}, ev); err != nil {
		t.Fatal(err)
	}
	c = f.nextCall()
	if e := ev.waitEnded(t); e.cause != EndNoAnswer || e.code != 487 {
		t.Errorf("Ended %+v, want no-answer 487", e)
	}
	if !isClosed(c.cancel) {
		t.Error("no CANCEL after the setup deadline")
	}
}

func TestCallRemoteBye(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	f.setScript(answerWith())
	u, _ := startCallUA(t, f, nil)
	ev := newLegEvents()
	l := call(t, u, ev, "")
	c := f.nextCall()
	waitFor(t, ev.answered, "Answered", func([]byte) bool { return true })
	f.next(sip.ACK)
	if res := c.send(c.request(sip.BYE, "", ""), ""); res.StatusCode != 200 {
		t.Errorf("BYE answered %d", res.StatusCode)
	}
	if e := ev.waitEnded(t); e.cause != EndRemoteHangup {
		t.Errorf("Ended %+v", e)
	}
	<-l.Done()
	// The dialog is gone now.
	if res := c.send(c.request(sip.INFO, "application/dtmf-relay", "Signal=1\r\n"), ""); res.StatusCode != 481 {
		t.Errorf("INFO after BYE answered %d, want 481", res.StatusCode)
	}
}

func TestCallUnknownDialog(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	u, _ := startCallUA(t, f, nil)
	for _, tc := range []struct {
		method sip.RequestMethod
		toTag  string
		want   int
	}{
		{method: sip.BYE, toTag: "nosuch", want: 481},
		{method: sip.INFO, toTag: "nosuch", want: 481},
		{method: sip.INVITE, toTag: "nosuch", want: 481},
		{method: sip.UPDATE, toTag: "nosuch", want: 481},
		{method: sip.INVITE, want: 403}, // the gateway takes no calls
	} {
		req := sip.NewRequest(tc.method, uaURI(u))
		if tc.toTag != "" {
			to := &sip.ToHeader{Address: uaURI(u), Params: sip.NewParams()}
			to.Params.Add("tag", tc.toTag)
			req.AppendHeader(to)
		}
		c := &uasCall{f: f, req: req}
		if got := c.sendOutOfDialog(req); got != tc.want {
			t.Errorf("%s to-tag %q answered %d, want %d", tc.method, tc.toTag, got, tc.want)
		}
	}
}

func (c *uasCall) sendOutOfDialog(req *sip.Request) int {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := c.f.cli.Do(ctx, req)
	if err != nil {
		c.f.t.Fatalf("%s: %v", req.Method, err)
	}
	return res.StatusCode
}

// Hanging up before any provisional response defers the CANCEL (RFC 3261
// 9.1); a 2xx that comes instead is ACKed and ended with BYE.
func TestCallAnswerRacesCancel(t *testing.T) {
	f := newFakeUAS(t, "UDP")
	release := make(chan struct{})
	f.setScript(func(c *uasCall) {
		select {
		case <-release: // sipgo's own 100 Trying would come after 200ms
		case <-time.After(3 * time.Second):
		}
		c.respond(200, answerSDP)
	})
	u, _ := startCallUA(t, f, nil)
	ev := newLegEvents()
	l := call(t, u, ev, "")
	c := f.nextCall()
	hung := make(chan error, 1)
	go func() { hung <- l.Hangup(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if bye := f.collect(sip.ACK, sip.BYE)[sip.BYE]; bye.To().Params.GetOr("tag", "") != c.toTag {
		t.Errorf("BYE %s", bye.String())
	}
	if err := <-hung; err != nil {
		t.Errorf("Hangup: %v", err)
	}
	if e := ev.waitEnded(t); e.cause != EndCancelled || e.code != 200 {
		t.Errorf("Ended %+v, want cancelled 200", e)
	}
	if isClosed(c.cancel) || ev.nAnswered.Load() != 0 {
		t.Errorf("CANCEL sent without a provisional response, or Answered reported")
	}
}
