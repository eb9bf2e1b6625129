package testbed

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// SendMessage makes the agent send a SIP MESSAGE with text to the gateway
// (sip:frontdesk@frontdesk.test, its one contact) through Kamailio.
func (a *Agent) SendMessage(ctx context.Context, text string) error {
	if _, err := a.Command(ctx, "contact_next", ""); err != nil {
		return fmt.Errorf("testbed: agent %s: select contact: %w", a.name, err)
	}
	if _, err := a.Command(ctx, "message", text); err != nil {
		return fmt.Errorf("testbed: agent %s: message: %w", a.name, err)
	}
	return nil
}

// ReceivedMessage is a MESSAGE an agent received, read from its SIP trace.
type ReceivedMessage struct {
	From string // the From header value
	Body string
}

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

// ReceivedMessages reads the MESSAGE requests the agent received so far from
// its SIP trace (baresip shows received texts nowhere else). The trace also
// holds the MESSAGEs the agent sent; those, from the agent's own address,
// are left out.
func (a *Agent) ReceivedMessages() ([]ReceivedMessage, error) {
	all, err := a.tracedMessages()
	if err != nil {
		return nil, err
	}
	own := "sip:" + a.name + "@" + Domain
	out := all[:0]
	for _, m := range all {
		if !sentBy(m.From, own) {
			out = append(out, m)
		}
	}
	return out, nil
}

// sentBy reports whether the From header value names the address own.
func sentBy(from, own string) bool {
	uri := from
	if i := strings.IndexByte(uri, '<'); i >= 0 {
		uri = uri[i+1:]
		if j := strings.IndexByte(uri, '>'); j >= 0 {
			uri = uri[:j]
		}
	} else if j := strings.IndexByte(uri, ';'); j >= 0 {
		uri = uri[:j]
	}
	return strings.EqualFold(strings.TrimSpace(uri), own)
}

// tracedMessages reads every MESSAGE request in the agent's SIP trace, sent
// or received.
func (a *Agent) tracedMessages() ([]ReceivedMessage, error) {
	f, err := os.Open(a.proc.logPath)
	if err != nil {
		return nil, fmt.Errorf("testbed: agent %s log: %w", a.name, err)
	}
	defer f.Close()
	var (
		out     []ReceivedMessage
		cur     *ReceivedMessage
		inBody  bool
		bodyLen int
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(ansiRE.ReplaceAllString(sc.Text(), ""), "\r")
		switch {
		case strings.HasPrefix(line, "MESSAGE sip:"):
			cur, inBody, bodyLen = &ReceivedMessage{}, false, 0
		case cur == nil:
		case !inBody && strings.HasPrefix(strings.ToLower(line), "from:"):
			cur.From = strings.TrimSpace(line[len("from:"):])
		case !inBody && strings.HasPrefix(strings.ToLower(line), "content-length:"):
			_, _ = fmt.Sscanf(strings.TrimSpace(line[len("content-length:"):]), "%d", &bodyLen)
		case !inBody && line == "":
			inBody = true
			if bodyLen == 0 {
				out, cur = append(out, *cur), nil
			}
		case inBody:
			if cur.Body != "" {
				cur.Body += "\n"
			}
			cur.Body += line
			if len(cur.Body) >= bodyLen {
				out, cur = append(out, *cur), nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("testbed: agent %s log: %w", a.name, err)
	}
	return out, nil
}

// SendMessageAs sends a MESSAGE from sip:user@frontdesk.test to the gateway
// user through Kamailio, the way an agent's client would; contentType and
// body are sent as given (e.g. an isComposing document). It returns the final
// status.
func (t *Testbed) SendMessageAs(ctx context.Context, user, password, toUser, contentType string, body []byte) (int, error) {
	from := sip.Uri{Scheme: "sip", User: user, Host: Domain}
	to := sip.Uri{Scheme: "sip", User: toUser, Host: Domain}
	req := sip.NewRequest(sip.MESSAGE, to)
	req.SetDestination(t.Addr())
	fh := &sip.FromHeader{Address: from, Params: sip.NewParams()}
	fh.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(fh)
	req.AppendHeader(&sip.ToHeader{Address: to})
	req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	req.SetBody(body)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := t.sip.doAuth(ctx, req, user, password)
	if err != nil {
		return 0, fmt.Errorf("testbed: MESSAGE as %s: %w", user, err)
	}
	return res.StatusCode, nil
}

// Register binds sip:user@frontdesk.test to contact ("host:port", e.g. a sipp
// instance playing that user) for expires seconds; 0 removes the binding.
func (t *Testbed) Register(ctx context.Context, user, password, contact string, expires int) error {
	aor := sip.Uri{Scheme: "sip", User: user, Host: Domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: Domain})
	req.SetDestination(t.Addr())
	fh := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	fh.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(fh)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:%s@%s>", user, contact)))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := t.sip.doAuth(ctx, req, user, password)
	if err != nil {
		return fmt.Errorf("testbed: REGISTER %s: %w", user, err)
	}
	if res.StatusCode != sip.StatusOK {
		return fmt.Errorf("testbed: REGISTER %s: %d %s", user, res.StatusCode, res.Reason)
	}
	return nil
}

// SendMessageDirect sends a MESSAGE from sip:user@frontdesk.test straight
// to dest ("host:port", one gateway's contact), as a PBX does that delivers
// to one contact of the gateway's AoR instead of forking to all (Asterisk's
// MessageSend). callID and cseq name the request; a proxy forking one
// MESSAGE sends the same to every contact. It returns the final status.
func (t *Testbed) SendMessageDirect(ctx context.Context, dest, user, toUser, callID string, cseq uint32, text string) (int, error) {
	from := sip.Uri{Scheme: "sip", User: user, Host: Domain}
	to := sip.Uri{Scheme: "sip", User: toUser, Host: Domain}
	req := sip.NewRequest(sip.MESSAGE, to)
	req.SetDestination(dest)
	fh := &sip.FromHeader{Address: from, Params: sip.NewParams()}
	fh.Params.Add("tag", "tb"+strconv.FormatUint(uint64(cseq), 10)+callID[:min(8, len(callID))])
	req.AppendHeader(fh)
	req.AppendHeader(&sip.ToHeader{Address: to})
	cid := sip.CallIDHeader(callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.MESSAGE})
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
	req.SetBody([]byte(text))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := t.sip.client.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("testbed: MESSAGE to %s: %w", dest, err)
	}
	return res.StatusCode, nil
}
