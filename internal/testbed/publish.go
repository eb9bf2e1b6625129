package testbed

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// publishExpires is the lifetime asked for in PUBLISH; publications are
// refreshed at half of it while the test bed runs.
const publishExpires = 600

// publication is the state of one presentity published from Go.
type publication struct {
	mu       sync.Mutex // serialises PUBLISHes for this presentity
	user     string
	password string
	etag     string // SIP-ETag of the current publication, "" if none
	body     []byte
	status   string
}

// publisher sends PUBLISH requests to Kamailio and keeps entity tags.
type publisher struct {
	proxy string
	log   *slog.Logger
	c     *sipClient

	mu   sync.Mutex
	pubs map[string]*publication
	stop context.CancelFunc
	done chan struct{}
}

func newPublisher(c *sipClient, proxy string, log *slog.Logger) *publisher {
	ctx, cancel := context.WithCancel(context.Background())
	p := &publisher{proxy: proxy, log: log, c: c, pubs: map[string]*publication{}, stop: cancel, done: make(chan struct{})}
	go p.refreshLoop(ctx)
	return p
}

func (p *publisher) close() {
	p.stop()
	<-p.done
}

func (p *publisher) get(user, password string) *publication {
	p.mu.Lock()
	defer p.mu.Unlock()
	pub := p.pubs[user]
	if pub == nil {
		pub = &publication{user: user}
		p.pubs[user] = pub
	}
	pub.password = password
	return pub
}

// PIDFBody returns the PIDF document the test bed publishes for a status:
// basic open/closed plus, for busy, on-the-phone and away, an RPID activity.
func PIDFBody(user, status string) ([]byte, error) {
	basic, activity, note := "open", "", "Online"
	switch status {
	case StatusOnline:
	case StatusBusy:
		activity, note = "busy", "Busy"
	case StatusOnThePhone:
		activity, note = "on-the-phone", "On the phone"
	case StatusAway:
		activity, note = "away", "Away"
	case StatusClosed:
		basic, note = "closed", "Offline"
	default:
		return nil, fmt.Errorf("testbed: unknown presence status %q", status)
	}
	entity := "sip:" + user + "@" + Domain
	esc := func(s string) string {
		var sb strings.Builder
		_ = xml.EscapeText(&sb, []byte(s)) // writing to a strings.Builder does not fail
		return sb.String()
	}
	person := `  <dm:person id="p1"><dm:note>` + note + `</dm:note></dm:person>` + "\n"
	if activity != "" {
		person = `  <dm:person id="p1"><rpid:activities><rpid:` + activity + `/></rpid:activities><dm:note>` + note + `</dm:note></dm:person>` + "\n"
	}
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="` + esc(entity) + `">` + "\n" +
		`  <tuple id="t1"><status><basic>` + basic + `</basic></status><contact>` + esc(entity) + `</contact></tuple>` + "\n" +
		person +
		`</presence>` + "\n"
	return []byte(body), nil
}

// publish sets the presence of user. StatusOffline removes the publication.
func (p *publisher) publish(ctx context.Context, user, password, status string) error {
	pub := p.get(user, password)
	pub.mu.Lock()
	defer pub.mu.Unlock()

	if status == StatusOffline {
		if pub.etag == "" {
			pub.status, pub.body = status, nil
			return nil
		}
		err := p.send(ctx, pub, nil, 0)
		pub.etag, pub.status, pub.body = "", status, nil
		return err
	}
	body, err := PIDFBody(user, status)
	if err != nil {
		return err
	}
	if err := p.send(ctx, pub, body, publishExpires); err != nil {
		return err
	}
	pub.status, pub.body = status, body
	return nil
}

// send sends one PUBLISH (modifying the existing publication when there is an
// entity tag; a 412 makes it start a new one). Caller holds pub.mu.
func (p *publisher) send(ctx context.Context, pub *publication, body []byte, expires int) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for attempt := 0; attempt < 2; attempt++ {
		res, err := p.c.doAuth(ctx, p.newRequest(pub, body, expires), pub.user, pub.password)
		if err != nil {
			return fmt.Errorf("testbed: PUBLISH for %s: %w", pub.user, err)
		}
		switch {
		case res.StatusCode == 412 && pub.etag != "" && expires > 0:
			p.log.Debug("publication gone, starting a new one", "user", pub.user)
			pub.etag = ""
			continue
		case res.StatusCode != sip.StatusOK:
			return fmt.Errorf("testbed: PUBLISH for %s: %d %s", pub.user, res.StatusCode, res.Reason)
		}
		if h := res.GetHeader("SIP-ETag"); h != nil && expires > 0 {
			pub.etag = h.Value()
		}
		p.log.Debug("published", "user", pub.user, "expires", expires, "etag", pub.etag)
		return nil
	}
	return fmt.Errorf("testbed: PUBLISH for %s: entity tag rejected twice", pub.user)
}

func (p *publisher) newRequest(pub *publication, body []byte, expires int) *sip.Request {
	uri := sip.Uri{Scheme: "sip", User: pub.user, Host: Domain}
	req := sip.NewRequest(sip.PUBLISH, uri)
	req.SetDestination(p.proxy)
	from := &sip.FromHeader{Address: uri}
	from.Params = sip.NewParams()
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: uri})
	req.AppendHeader(sip.NewHeader("Event", "presence"))
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	if pub.etag != "" {
		req.AppendHeader(sip.NewHeader("SIP-If-Match", pub.etag))
	}
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/pidf+xml"))
		req.SetBody(body)
	}
	return req
}

// refreshLoop re-publishes every live publication at half its lifetime, so a
// long-running demo keeps its presence.
func (p *publisher) refreshLoop(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(publishExpires / 2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.mu.Lock()
		pubs := make([]*publication, 0, len(p.pubs))
		for _, pub := range p.pubs {
			pubs = append(pubs, pub)
		}
		p.mu.Unlock()
		for _, pub := range pubs {
			pub.mu.Lock()
			if pub.body != nil {
				if err := p.send(ctx, pub, pub.body, publishExpires); err != nil {
					p.log.Warn("refreshing publication failed", "user", pub.user, "err", err)
				}
			}
			pub.mu.Unlock()
		}
	}
}
