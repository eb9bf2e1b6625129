package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/frontdesk-gw/frontdesk/sip"
)

// registerWait bounds the wait for the first REGISTER's outcome: the UA
// gives one REGISTER 10 seconds before it counts as unanswered.
const registerWait = 15 * time.Second

// checkRegistration waits for the doctor's registration and says what the
// registrar answered; it reports whether the doctor is registered.
func (d *doctor) checkRegistration(ctx context.Context) bool {
	aor := fmt.Sprintf("sip:%s@%s", d.cfg.SIP.Username, domainOf(d.cfg))
	t := time.NewTimer(registerWait)
	defer t.Stop()
	var ev regEvent
	for ev.state != sip.RegRegistered && ev.state != sip.RegFailed {
		select {
		case ev = <-d.ev.reg:
		case <-t.C:
			d.r.Add(Line{Status: StatusFail, Text: "REGISTER " + aor + ": no outcome within " + registerWait.String(), Fix: adviceNoAnswer})
			return false
		case <-ctx.Done():
			return false
		}
	}
	answers := d.registerAnswers()
	if ev.state == sip.RegRegistered {
		st := d.ua.Status()
		granted := time.Until(st.Expires).Round(time.Second)
		d.r.OK("REGISTER %s with digest: %s; registered for %v%s", aor, answers, granted, d.bindings())
		return true
	}
	d.regErr = ev.err
	code := statusCode(ev.err)
	switch {
	case errors.Is(ev.err, sip.ErrAuthRejected):
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("REGISTER %s: %s: 401 again after answering the challenge: check sip.password (or password_env / password_file) and sip.auth_user", aor, answers),
			Cause: "the PBX refuses the credentials: a wrong password, or an auth user other than the PBX's", Fix: adviceAuth})
	case errors.Is(ev.err, sip.ErrNoChallenge):
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("REGISTER %s: %s: a challenge without a Digest the gateway can answer", aor, answers),
			Cause: "the PBX asks for an authentication scheme other than Digest (MD5 or SHA-256)", Fix: adviceAuth})
	case code == 403:
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("REGISTER %s: %s: the PBX forbids this registration", aor, answers),
			Cause: "the user may not register from here, or the auth user does not match the user", Fix: adviceRegisterForbidden})
	case code == 404:
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("REGISTER %s: %s: the PBX does not know this user in this domain", aor, answers),
			Cause: "sip.username or sip.domain is not a user of the PBX", Fix: adviceRegisterNotFound})
	case code != 0:
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("REGISTER %s: %s", aor, answers), Cause: ev.err.Error(), Fix: adviceRegisterForbidden})
	default:
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("REGISTER %s: no answer (%v)", aor, ev.err),
			Cause: "the PBX does not answer REGISTER: down, wrong port or transport, or a firewall", Fix: adviceNoAnswer})
	}
	return false
}

// registerAnswers describes the REGISTER exchange: each final answer in
// order, with the digest challenge.
func (d *doctor) registerAnswers() string {
	regs := d.tr.requests(func(r *gosip.Request) bool { return r.Method == gosip.REGISTER && r.Contact() != nil })
	if len(regs) == 0 {
		return "no REGISTER in the trace"
	}
	callID := string(*regs[0].CallID())
	finals, text := d.tr.exchange(gosip.REGISTER, callID)
	for _, res := range finals {
		if res.StatusCode == 401 || res.StatusCode == 407 {
			ch := header(res, "WWW-Authenticate")
			if ch == "" {
				ch = header(res, "Proxy-Authenticate")
			}
			text += " (challenge: " + challengeSummary(ch) + ")"
			break
		}
	}
	return text
}

// challengeSummary keeps the realm, algorithm and qop of a challenge.
func challengeSummary(v string) string {
	var parts []string
	for _, p := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		k = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(k, "Digest "), "digest "))
		if ok && (k == "realm" || k == "algorithm" || k == "qop") {
			parts = append(parts, k+"="+val)
		}
	}
	if len(parts) == 0 {
		return "Digest"
	}
	return "Digest " + strings.Join(parts, " ")
}

// bindings says how many bindings the registrar listed in its 200: the
// gateway's and the doctor's when the gateway runs.
func (d *doctor) bindings() string {
	regs := d.tr.requests(func(r *gosip.Request) bool { return r.Method == gosip.REGISTER && r.Contact() != nil })
	if len(regs) == 0 {
		return ""
	}
	finals, _ := d.tr.exchange(gosip.REGISTER, string(*regs[0].CallID()))
	for _, res := range finals {
		if res.IsSuccess() {
			n := len(res.GetHeaders("Contact"))
			switch n {
			case 0:
				return "; the registrar lists no bindings in its answer"
			case 1:
				return "; the registrar lists 1 binding (this one: no gateway is registered now)"
			}
			return fmt.Sprintf("; the registrar lists %d bindings (a running gateway's among them)", n)
		}
	}
	return ""
}

// checkUnregistered says whether the doctor's Contact was removed.
func (d *doctor) checkUnregistered() {
	if d.regErr != nil || d.ua == nil {
		d.r.Skip("unregister: not registered")
		return
	}
	regs := d.tr.requests(func(r *gosip.Request) bool {
		exp := r.GetHeaders("Expires")
		return r.Method == gosip.REGISTER && r.Contact() != nil && len(exp) > 0 && exp[0].Value() == "0"
	})
	if len(regs) == 0 {
		d.r.Add(Line{Status: StatusWarn, Text: "unregister: no REGISTER with Expires: 0 was sent; the doctor's binding expires on its own",
			Cause: "the doctor was stopped before it could unregister"})
		return
	}
	last := regs[len(regs)-1]
	for _, res := range d.tr.responses(gosip.REGISTER, string(*last.CallID())) {
		if res.CSeq().SeqNo >= last.CSeq().SeqNo && res.IsSuccess() {
			d.r.OK("unregistered the doctor's Contact %s: %d %s", last.Contact().Address.String(), res.StatusCode, res.Reason)
			return
		}
	}
	d.r.Add(Line{Status: StatusWarn, Text: "unregister: the PBX did not confirm removing the doctor's Contact; it expires on its own (sip.register_expiry)"})
}
