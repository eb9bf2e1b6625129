package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// ScriptedPBX is a SIP registrar and notifier on 127.0.0.1 (UDP) whose
// answers a test scripts, for PBX behaviours the test bed's Kamailio does
// not show: no dialog package (489), subscriptions refused or ended as
// rejected, server errors with Retry-After, registrars that grant less than
// asked or list other devices. It records every request it gets (not
// retransmissions), so tests count what the gateway sent over a window.
type ScriptedPBX struct {
	opts ScriptedOptions
	addr string
	ua   *sipgo.UserAgent
	cli  *sipgo.Client
	pc   net.PacketConn
	done chan struct{}
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup // NOTIFYs in flight

	mu       sync.Mutex
	received []Received
	dialogs  map[string]*scriptedDialog // by Call-ID
	bindings []sip.Header               // Contacts of the last 2xx to a REGISTER
}

// ScriptedOptions script a ScriptedPBX. A nil function, or one returning
// nil, gives the default answer.
type ScriptedOptions struct {
	Log *slog.Logger
	// Register answers a REGISTER with a Contact. Default: 200 granting the
	// asked expiry on the request's Contact. A REGISTER without Contact (a
	// binding query) is answered with the Contacts of the last 2xx.
	Register func(req *sip.Request) *sip.Response
	// Subscribe answers a SUBSCRIBE, initial or in a dialog. Default: 200
	// with the asked expiry (Expires: 0 ends the dialog), then a NOTIFY
	// with Body's document, or terminated after Expires: 0.
	Subscribe func(req *sip.Request) *sip.Response
	// Body is the NOTIFY body for an accepted SUBSCRIBE (default none).
	Body func(req *sip.Request) (contentType, body string)
}

// Received is one request the ScriptedPBX got.
type Received struct {
	At      time.Time
	Method  string
	User    string // of the Request-URI
	Event   string // Event header, without parameters
	Expires string // Expires header, "" when absent
	CallID  string
	// InDialog is true for a request with a To tag.
	InDialog bool
	// Authorized is true when it carried credentials.
	Authorized bool
	// Contact is true when it had a Contact header (a REGISTER without
	// one is a binding query).
	Contact bool
}

type scriptedDialog struct {
	toTag   string
	cseq    uint32
	sub     *sip.Request // the SUBSCRIBE that made it
	expires string
}

// StartScriptedPBX listens on a free UDP port of 127.0.0.1 until Close.
func StartScriptedPBX(opts ScriptedOptions) (*ScriptedPBX, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testbed: scripted pbx: listen: %w", err)
	}
	p := &ScriptedPBX{opts: opts, addr: pc.LocalAddr().String(), pc: pc, done: make(chan struct{}),
		dialogs: map[string]*scriptedDialog{}}
	p.ctx, p.stop = context.WithCancel(context.Background())
	fail := func(err error) (*ScriptedPBX, error) {
		_ = pc.Close()
		if p.ua != nil {
			_ = p.ua.Close()
		}
		return nil, fmt.Errorf("testbed: scripted pbx: %w", err)
	}
	if p.ua, err = sipgo.NewUA(sipgo.WithUserAgent("frontdesk-scripted-pbx"), sipgo.WithUserAgentHostname(Domain)); err != nil {
		return fail(err)
	}
	srv, err := sipgo.NewServer(p.ua, sipgo.WithServerLogger(opts.Log))
	if err != nil {
		return fail(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	if p.cli, err = sipgo.NewClient(p.ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port),
		sipgo.WithClientConnectionAddr(p.addr), sipgo.WithClientLogger(opts.Log)); err != nil {
		return fail(err)
	}
	srv.OnNoRoute(p.handle)
	go func() {
		defer close(p.done)
		_ = srv.ServeUDP(pc)
	}()
	return p, nil
}

// Addr is "127.0.0.1:PORT".
func (p *ScriptedPBX) Addr() string { return p.addr }

// Close stops answering and waits for what is in flight.
func (p *ScriptedPBX) Close() error {
	p.stop()
	p.wg.Wait()
	err := p.pc.Close()
	<-p.done
	_ = p.ua.Close()
	return err
}

// Requests returns what was received so far, in order.
func (p *ScriptedPBX) Requests() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Received(nil), p.received...)
}

// Count is the number of requests received in [from, to) that match: an
// empty method, user or event matches any.
func (p *ScriptedPBX) Count(method, user, event string, from, to time.Time) int {
	n := 0
	for _, r := range p.Requests() {
		if (method == "" || r.Method == method) && (user == "" || r.User == user) && (event == "" || r.Event == event) &&
			!r.At.Before(from) && r.At.Before(to) {
			n++
		}
	}
	return n
}

func (p *ScriptedPBX) handle(req *sip.Request, tx sip.ServerTransaction) {
	if tx == nil {
		return
	}
	r := Received{At: time.Now(), Method: string(req.Method), User: req.Recipient.User, CallID: req.CallID().Value(),
		Authorized: req.GetHeader("Authorization") != nil || req.GetHeader("Proxy-Authorization") != nil,
		Contact:    req.Contact() != nil}
	if h := req.GetHeader("Event"); h != nil {
		r.Event = mediaTypeOf(h.Value())
	}
	if h := req.GetHeader("Expires"); h != nil {
		r.Expires = h.Value()
	}
	_, r.InDialog = req.To().Params.Get("tag")
	p.mu.Lock()
	p.received = append(p.received, r)
	p.mu.Unlock()

	var res *sip.Response
	switch req.Method {
	case sip.REGISTER:
		if req.Contact() == nil { // a binding query: what the last 2xx granted
			res = Reply(req, 200, "OK")
			p.mu.Lock()
			for _, h := range p.bindings {
				res.AppendHeader(h)
			}
			p.mu.Unlock()
			break
		}
		if p.opts.Register != nil {
			res = p.opts.Register(req)
		}
		if res == nil {
			res = GrantRegister(req, 0)
		}
		if res.IsSuccess() {
			p.mu.Lock()
			p.bindings = nil
			for _, h := range res.GetHeaders("Contact") {
				p.bindings = append(p.bindings, sip.HeaderClone(h))
			}
			p.mu.Unlock()
		}
	case sip.SUBSCRIBE:
		if p.opts.Subscribe != nil {
			res = p.opts.Subscribe(req)
		}
		if res == nil {
			p.accept(req, tx)
			return
		}
	case sip.NOTIFY:
		res = sip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil)
	default:
		res = sip.NewResponseFromRequest(req, 200, "OK", nil)
	}
	if err := tx.Respond(res); err != nil {
		p.opts.Log.Debug("scripted pbx: respond", "err", err)
	}
}

// accept answers req with 200 and sends the dialog's NOTIFY.
func (p *ScriptedPBX) accept(req *sip.Request, tx sip.ServerTransaction) {
	cid := req.CallID().Value()
	expires := "600"
	if h := req.GetHeader("Expires"); h != nil {
		expires = h.Value()
	}
	p.mu.Lock()
	d := p.dialogs[cid]
	if d == nil {
		d = &scriptedDialog{toTag: sip.GenerateTagN(10), sub: req}
		p.dialogs[cid] = d
	}
	d.expires = expires
	p.mu.Unlock()
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if _, ok := res.To().Params.Get("tag"); !ok {
		res.To().Params.Add("tag", d.toTag)
	}
	res.AppendHeader(sip.NewHeader("Expires", expires))
	res.AppendHeader(p.contact())
	if err := tx.Respond(res); err != nil {
		return
	}
	state, ctype, body := "active;expires="+expires, "", ""
	if expires == "0" {
		state = "terminated;reason=timeout"
	} else if p.opts.Body != nil {
		ctype, body = p.opts.Body(req)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := p.Notify(p.ctx, cid, state, ctype, body); err != nil {
			p.opts.Log.Debug("scripted pbx: notify", "err", err)
		}
	}()
}

// Notify sends a NOTIFY in the dialog the SUBSCRIBE with callID made and
// returns an error unless the gateway answered 2xx.
func (p *ScriptedPBX) Notify(ctx context.Context, callID, state, contentType, body string) error {
	p.mu.Lock()
	d := p.dialogs[callID]
	if d == nil {
		p.mu.Unlock()
		return fmt.Errorf("testbed: no subscription dialog %s", callID)
	}
	d.cseq++
	sub, toTag, cseq := d.sub, d.toTag, d.cseq
	p.mu.Unlock()
	c := sub.Contact()
	if c == nil {
		return errors.New("testbed: SUBSCRIBE without Contact")
	}
	req := sip.NewRequest(sip.NOTIFY, *c.Address.Clone())
	from := sub.To().AsFrom()
	from.Params = sip.NewParams()
	from.Params.Add("tag", toTag)
	req.AppendHeader(&from)
	to := sub.From().AsTo()
	req.AppendHeader(&to)
	req.AppendHeader(sub.CallID())
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.NOTIFY})
	req.AppendHeader(p.contact())
	req.AppendHeader(sip.NewHeader("Event", sub.GetHeader("Event").Value()))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	if contentType != "" {
		req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	}
	req.SetBody([]byte(body))
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := p.cli.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("testbed: NOTIFY %s: %w", callID, err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("testbed: NOTIFY %s answered %d", callID, res.StatusCode)
	}
	return nil
}

// Dialogs lists the Call-IDs of the subscriptions accepted for user and
// event, oldest first.
func (p *ScriptedPBX) Dialogs(user, event string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range p.Requests() {
		if r.Method == "SUBSCRIBE" && r.User == user && r.Event == event && !seen[r.CallID] {
			p.mu.Lock()
			_, ok := p.dialogs[r.CallID]
			p.mu.Unlock()
			if ok {
				seen[r.CallID] = true
				out = append(out, r.CallID)
			}
		}
	}
	return out
}

func (p *ScriptedPBX) contact() *sip.ContactHeader {
	h, port, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(port)
	return &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: h, Port: n}}
}

// Reply is a response to req with code and reason and the given headers
// (name, value pairs).
func Reply(req *sip.Request, code int, reason string, headers ...string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if _, ok := res.To().Params.Get("tag"); !ok {
		res.To().Params.Add("tag", "scripted")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		res.AppendHeader(sip.NewHeader(headers[i], headers[i+1]))
	}
	return res
}

// GrantRegister answers a REGISTER with 200 listing its Contact with
// expires=granted seconds (0: what it asked for), and extra Contact
// values (other devices of the account) before it.
func GrantRegister(req *sip.Request, granted int, others ...string) *sip.Response {
	res := Reply(req, 200, "OK")
	asked := "600"
	if h := req.GetHeader("Expires"); h != nil {
		asked = h.Value()
	}
	if granted > 0 {
		asked = strconv.Itoa(granted)
	}
	for _, o := range others {
		res.AppendHeader(sip.NewHeader("Contact", o))
	}
	if c := req.Contact(); c != nil && asked != "0" {
		c := c.Clone()
		c.Params = sip.NewParams()
		c.Params.Add("expires", asked)
		res.AppendHeader(c)
	}
	res.AppendHeader(sip.NewHeader("Expires", asked))
	return res
}

// mediaTypeOf strips parameters (";id=…") from a header value.
func mediaTypeOf(v string) string {
	v, _, _ = strings.Cut(v, ";")
	return strings.TrimSpace(v)
}
