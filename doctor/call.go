package doctor

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/config"
	"github.com/frontdesk-gw/frontdesk/sip"
)

const (
	// testKeys are the keys the test call sends.
	testKeys = "1#"
	// holdFor is how long the test call stays on hold.
	holdFor = 500 * time.Millisecond
)

// testExtension is the address that agreed to a test call, "" for none.
func (d *doctor) testExtension() string {
	if d.o.TestExtension != "" {
		return d.o.TestExtension
	}
	return d.cfg.Doctor.TestExtensionURI
}

// callEvents is the test call's sip.CallEvents: what the leg hears goes to
// the check on channels; offers of the PBX get an answer at once.
type callEvents struct {
	progress chan progressEvent
	answered chan []byte
	ended    chan endEvent
	keys     chan byte

	mu     sync.Mutex
	answer func(offer []byte) ([]byte, error) // answers the PBX's re-INVITEs
	offer  []byte                             // our current offer
	remote chan []byte                        // new SDP of the PBX (Reoffer, Reanswer)
}

type progressEvent struct {
	code int
	sdp  []byte
}

type endEvent struct {
	cause  sip.EndCause
	code   int
	reason string
}

func newCallEvents() *callEvents {
	return &callEvents{progress: make(chan progressEvent, 16), answered: make(chan []byte, 1),
		ended: make(chan endEvent, 1), keys: make(chan byte, 16), remote: make(chan []byte, 8)}
}

func (e *callEvents) Progress(code int, sdp []byte) {
	select {
	case e.progress <- progressEvent{code, sdp}:
	default:
	}
}

func (e *callEvents) Answered(sdp []byte) { e.answered <- sdp }

func (e *callEvents) Reoffer(sdp []byte) ([]byte, error) {
	e.mu.Lock()
	answer := e.answer
	e.mu.Unlock()
	out, err := answer(sdp)
	if err == nil {
		e.newRemote(sdp)
	}
	return out, err
}

func (e *callEvents) OfferRequest() []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.offer
}

func (e *callEvents) Reanswer(sdp []byte) { e.newRemote(sdp) }

func (e *callEvents) newRemote(sdp []byte) {
	select {
	case e.remote <- sdp:
	default:
	}
}

func (e *callEvents) DTMF(digit byte, _ time.Duration) {
	select {
	case e.keys <- digit:
	default:
	}
}

func (e *callEvents) Ended(cause sip.EndCause, code int, reason string) {
	e.ended <- endEvent{cause, code, reason}
}

// callCheck is the state of the test call.
type callCheck struct {
	d       *doctor
	to      string
	media   *media
	ev      *callEvents
	leg     *sip.Leg
	ip      netip.Addr // the address SDP names
	key     []byte     // SDES key, nil for plain RTP
	version int
	remote  remoteSDP
}

// checkCall places the test call and checks, in order: ringing and early
// media, the answer and its codecs, SRTP when configured, RTP both ways,
// hold and resume, DTMF both ways, and BYE.
func (d *doctor) checkCall(ctx context.Context) {
	to := d.testExtension()
	srtp := d.cfg.Calls.SRTP == "sdes"
	if to == "" {
		d.r.Skip("INVITE: not checked: set doctor.test_extension (or --test-extension) to an extension that agreed to take a test call (an echo test)")
		if srtp {
			d.r.Skip("SRTP: not checked without a test call")
		}
		return
	}
	lo, hi, err := config.PortRange(d.cfg.Calls.RTPPorts)
	if err != nil {
		d.r.Add(Line{Status: StatusFail, Text: "calls.rtp_ports: " + err.Error()})
		return
	}
	m, err := newMedia(d.o.MediaHost, lo, hi)
	if err != nil {
		d.r.Add(Line{Status: StatusFail, Text: "no RTP socket for the test call: " + err.Error(),
			Fix: &Advice{Setting: "calls.rtp_address, calls.rtp_ports"}})
		return
	}
	defer m.close()
	c := &callCheck{d: d, to: to, media: m, ev: newCallEvents(), version: 1}
	c.ip = m.local.Addr()
	if pub := d.cfg.Calls.PBXMediaIP; pub != "" {
		if ip, err := netip.ParseAddr(pub); err == nil {
			c.ip = ip
		}
	}
	if srtp {
		c.key = sdesKey()
	}
	c.run(ctx)
}

// sdp is our SDP with direction dir, a new version each time.
func (c *callCheck) sdp(dir string, formats []codec) []byte {
	c.version++
	return offer{ip: c.ip, port: int(c.media.local.Port()), dir: dir, key: c.key, version: c.version, formats: formats}.marshal()
}

func (c *callCheck) run(ctx context.Context) {
	r := c.d.r
	first := c.sdp("sendrecv", offered)
	c.ev.offer = first
	c.ev.answer = func(o []byte) ([]byte, error) {
		c.version++
		return answerTo(o, c.ip, int(c.media.local.Port()), c.key, c.version)
	}
	setup, cancel := context.WithTimeout(ctx, 3*c.d.o.Wait)
	defer cancel()
	start := time.Now()
	leg, err := c.d.ua.Call(setup, sip.CallRequest{Target: c.to, DisplayName: "Frontdesk doctor", SDP: first}, c.ev)
	if err != nil {
		r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("INVITE %s: not sent: %v", c.to, err), Fix: adviceCallRefused})
		return
	}
	c.leg = leg
	defer func() {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.d.o.Wait)
		defer cancel()
		_ = leg.Hangup(hctx)
	}()

	// Ringing, early media, the answer.
	var progress []string
	early := false
	var answer []byte
	for answer == nil {
		select {
		case p := <-c.ev.progress:
			text := fmt.Sprintf("%d", p.code)
			if p.sdp != nil {
				text += " with SDP"
				if rs, err := parseRemote(p.sdp); err == nil {
					if rt, err := routeFor(rs, c.key); err == nil {
						early = true
						c.media.setRoute(rt)
					}
				}
			}
			progress = append(progress, text)
		case answer = <-c.ev.answered:
			if answer == nil {
				answer = []byte{} // answered without SDP: reported below
			}
		case e := <-c.ev.ended:
			c.failedSetup(e, progress, time.Since(start))
			return
		}
	}
	took := time.Since(start).Round(time.Millisecond)
	before := c.media.stats().received
	ring := "no provisional response"
	if len(progress) > 0 {
		ring = strings.Join(progress, ", ")
	}
	if early {
		r.OK("INVITE %s: %s: early media (%d RTP packets before the answer); answered after %v", c.to, ring, before, took)
	} else {
		r.OK("INVITE %s: %s (no early media); answered after %v", c.to, ring, took)
	}
	if !c.answerCodecs(answer) {
		return
	}
	if !c.checkRTP("RTP both ways", 0) {
		return
	}
	if c.key != nil {
		c.checkSRTP()
	}
	if !c.checkHold(ctx) {
		return
	}
	c.checkKeys(ctx)
	c.checkBye(ctx)
}

// failedSetup reports a call that ended before the answer.
func (c *callCheck) failedSetup(e endEvent, progress []string, took time.Duration) {
	text := fmt.Sprintf("INVITE %s: %s after %v", c.to, strings.Join(append(progress, fmt.Sprintf("%d %s", e.code, e.reason)), ", "), took.Round(time.Millisecond))
	switch {
	case e.code == 488 || e.code == 415 || e.code == 606:
		cause := "no codec in common: the doctor offered " + offeredNames()
		if c.key != nil {
			cause += " with SRTP (calls.srtp sdes): the PBX may refuse RTP/SAVP"
		}
		fix := adviceCodecs
		if c.key != nil {
			fix = adviceSRTP
		}
		c.d.r.Add(Line{Status: StatusFail, Text: text, Cause: cause, Fix: fix})
	case e.code == 401 || e.code == 407:
		c.d.r.Add(Line{Status: StatusFail, Text: text, Cause: "the PBX refuses the gateway's credentials for INVITE", Fix: adviceAuth})
	case e.code == 0:
		c.d.r.Add(Line{Status: StatusFail, Text: text, Cause: "no final answer: " + string(e.cause), Fix: adviceNoAnswer})
	default:
		c.d.r.Add(Line{Status: StatusFail, Text: text, Cause: "the test extension did not answer (" + string(e.cause) + ")", Fix: adviceCallRefused})
	}
}

// answerCodecs reads the answer and reports the codecs offered and chosen.
func (c *callCheck) answerCodecs(answer []byte) bool {
	r := c.d.r
	if len(answer) == 0 {
		r.Add(Line{Status: StatusFail, Text: "the 200 OK carries no SDP answer", Cause: "the PBX answered without SDP (it must answer the INVITE's offer)", Fix: adviceCodecs})
		return false
	}
	rs, err := parseRemote(answer)
	if err != nil {
		r.Add(Line{Status: StatusFail, Text: "the SDP answer cannot be read: " + err.Error(), Fix: adviceCodecs})
		return false
	}
	names := make([]string, len(rs.formats))
	for i, f := range rs.formats {
		names[i] = fmt.Sprintf("%s (%d)", f, f.pt)
	}
	if rs.audio == nil {
		r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("codecs: offered %s; the answer names %s, none of them", offeredNames(), strings.Join(names, ", ")),
			Cause: "the PBX chose a codec the gateway does not carry (it does not transcode)", Fix: adviceCodecs})
		return false
	}
	chosen := rs.audio.String()
	if rs.te != nil {
		chosen += " with " + rs.te.String()
	} else {
		chosen += " without telephone-event (keys go by SIP INFO)"
	}
	r.OK("codecs: offered %s; the PBX chose %s (its answer: %s)", offeredNames(), chosen, strings.Join(names, ", "))
	if c.key != nil && rs.proto != "RTP/SAVP" {
		r.Add(Line{Status: StatusFail, Text: "SRTP: the PBX answered " + rs.proto + " to an RTP/SAVP offer with SDES keys (calls.srtp sdes)",
			Cause: "the PBX or the callee does not do SRTP", Fix: adviceSRTP})
		return false
	}
	rt, err := routeFor(rs, c.key)
	if err != nil {
		r.Add(Line{Status: StatusFail, Text: "SRTP: " + err.Error(), Fix: adviceSRTP})
		return false
	}
	c.remote = rs
	c.media.setRoute(rt)
	return true
}

// checkRTP waits for RTP from the PBX beyond what had come (after) and
// reports it.
func (c *callCheck) checkRTP(what string, after int64) bool {
	r := c.d.r
	deadline := time.Now().Add(c.d.o.Wait)
	for c.media.stats().received < after+10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	st := c.media.stats()
	got := st.received - after
	if got < 10 {
		cause := "the PBX's media does not reach the doctor, or it sends none"
		if st.rejected > 0 {
			cause = fmt.Sprintf("%d packets came but are not RTP%s", st.rejected, map[bool]string{true: " or fail SRTP authentication", false: ""}[c.key != nil])
		}
		r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("%s: sent %d packets to %s, received %d within %v", what, st.sent, c.remote.addr, got, c.d.o.Wait),
			Cause: cause, Fix: adviceNoRTP})
		return false
	}
	from := ""
	if st.source.IsValid() && st.source != c.remote.addr {
		from = fmt.Sprintf(" (the SDP named %s: behind a NAT the gateway sends to where media comes from)", c.remote.addr)
	}
	r.OK("%s: sent %d packets of %s to %s, received %d from %s%s; payload types %s", what, st.sent, c.remote.audio, c.remote.addr, got, st.source, from, ptList(st.pts))
	return true
}

func ptList(pts map[uint8]int) string {
	keys := make([]int, 0, len(pts))
	for k := range pts {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d (%d packets)", k, pts[uint8(k)])
	}
	return strings.Join(parts, ", ")
}

// checkSRTP reports the SDES exchange once media flowed.
func (c *callCheck) checkSRTP() {
	st := c.media.stats()
	c.d.r.OK("SRTP: SDES %s both ways: %d packets from the PBX authenticated and decrypted with its key", sdesSuite, st.received)
	if !strings.EqualFold(c.d.cfg.SIP.Transport, "tls") {
		c.d.r.Add(Line{Status: StatusWarn, Text: "SRTP: the SDES keys travelled in SDP over " + strings.ToUpper(c.d.cfg.SIP.Transport) + ", readable by anyone on the path",
			Cause: "SDES protects media only when SIP is encrypted too", Fix: &Advice{Setting: "sip.transport: tls"}})
	}
}

// checkHold holds the call with a re-INVITE a=sendonly and resumes it
// with a=sendrecv, as the gateway does for a visitor's hold.
func (c *callCheck) checkHold(ctx context.Context) bool {
	r := c.d.r
	formats := []codec{*c.remote.audio}
	if c.remote.te != nil {
		formats = append(formats, *c.remote.te)
	}
	for _, step := range []struct {
		name, dir string
		want      []string
	}{
		{"hold", "sendonly", []string{"recvonly", "inactive"}},
		{"resume", "sendrecv", []string{"sendrecv"}},
	} {
		sdp := c.sdp(step.dir, formats)
		c.ev.mu.Lock()
		c.ev.offer = sdp
		c.ev.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, c.d.o.Wait)
		answer, err := c.leg.Reinvite(rctx, sdp)
		cancel()
		if err != nil {
			r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("%s: re-INVITE a=%s: %v", step.name, step.dir, err),
				Cause: "the PBX does not take re-INVITEs from the gateway, which holds calls with them", Fix: adviceHold})
			return false
		}
		rs, err := parseRemote(answer)
		if err != nil {
			r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("%s: the answer to re-INVITE a=%s cannot be read: %v", step.name, step.dir, err), Fix: adviceHold})
			return false
		}
		ok := false
		for _, w := range step.want {
			ok = ok || rs.dir == w
		}
		if !ok {
			r.Add(Line{Status: StatusWarn, Text: fmt.Sprintf("%s: re-INVITE a=%s answered a=%s, not %s", step.name, step.dir, rs.dir, strings.Join(step.want, " or ")),
				Cause: "the PBX ignores the direction of the gateway's offer", Fix: adviceHold})
		} else {
			r.OK("%s: re-INVITE a=%s answered 200 with a=%s", step.name, step.dir, rs.dir)
		}
		if rt, err := routeFor(rs, c.key); err == nil && rs.audio != nil {
			c.remote = rs
			c.media.setRoute(rt)
		}
		if step.dir == "sendonly" {
			// Held for a moment, as a visitor would be: the ACK goes
			// ahead of the next re-INVITE even through a proxy whose
			// workers might swap them.
			select {
			case <-time.After(holdFor):
			case <-ctx.Done():
				return false
			}
		}
	}
	return c.checkRTP("RTP after resuming", c.media.stats().received)
}

// checkKeys sends keys and reports those that come from the PBX: an echo
// test sends ours back, which proves both directions.
func (c *callCheck) checkKeys(ctx context.Context) {
	r := c.d.r
	if c.remote.te != nil {
		if err := c.media.sendKeys(testKeys, c.d.o.Wait); err != nil {
			r.Add(Line{Status: StatusFail, Text: "DTMF to the PBX: " + err.Error(), Fix: adviceDTMF})
			return
		}
		r.OK("DTMF to the PBX: sent %s as RFC 4733 telephone-event (payload type %d)", testKeys, c.remote.te.pt)
	} else {
		for i := 0; i < len(testKeys); i++ {
			kctx, cancel := context.WithTimeout(ctx, c.d.o.Wait)
			err := c.leg.SendDTMF(kctx, testKeys[i], 0)
			cancel()
			if err != nil {
				r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("DTMF to the PBX by SIP INFO (no telephone-event in the answer): %v", err),
					Cause: "the PBX takes neither RFC 4733 events nor INFO application/dtmf-relay", Fix: adviceDTMF})
				return
			}
		}
		r.OK("DTMF to the PBX: sent %s by SIP INFO application/dtmf-relay (the answer has no telephone-event): answered 200", testKeys)
	}
	var info []byte
	deadline := time.After(c.d.o.Wait)
	for {
		rtpKeys := c.media.stats().digits
		if strings.Contains(rtpKeys, testKeys) || strings.Contains(string(info), testKeys) {
			how := "RFC 4733 events"
			if !strings.Contains(rtpKeys, testKeys) {
				how = "SIP INFO"
			}
			r.OK("DTMF from the PBX: received %s as %s: keys travel both ways", testKeys, how)
			return
		}
		select {
		case k := <-c.ev.keys:
			info = append(info, k)
			continue
		case <-deadline:
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	got := c.media.stats().digits + string(info)
	r.Add(Line{Status: StatusWarn, Text: fmt.Sprintf("DTMF from the PBX: received %q within %v, not %s back", got, c.d.o.Wait, testKeys),
		Cause: "the test extension does not send keys (an echo test sends the doctor's back, which checks this direction)", Fix: adviceDTMF})
}

// checkBye hangs up and reports the PBX's answer to the BYE.
func (c *callCheck) checkBye(ctx context.Context) {
	r := c.d.r
	select {
	case e := <-c.ev.ended:
		r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("the PBX ended the test call before the doctor did: %s %d %s", e.cause, e.code, e.reason),
			Cause: "the PBX or the test extension drops the call (session timer, no media, a time limit)", Fix: adviceCallRefused})
		return
	default:
	}
	hctx, cancel := context.WithTimeout(ctx, c.d.o.Wait)
	defer cancel()
	if err := c.leg.Hangup(hctx); err != nil {
		r.Add(Line{Status: StatusFail, Text: "BYE: " + err.Error(), Fix: adviceHold})
		return
	}
	finals, text := c.d.tr.exchange(gosip.BYE, c.leg.CallID())
	if len(finals) == 0 || !finals[len(finals)-1].IsSuccess() {
		if text == "" {
			text = "no answer"
		}
		r.Add(Line{Status: StatusWarn, Text: "BYE: " + text + ": the PBX did not confirm the end of the call",
			Cause: "in-dialog requests do not reach the PBX (Record-Route, NAT)", Fix: adviceHold})
		return
	}
	r.OK("BYE: %s: the call ended cleanly", text)
}
