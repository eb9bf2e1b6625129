package testbed

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// sipClient is a small UDP SIP client for OPTIONS pings and PUBLISH.
type sipClient struct {
	ua     *sipgo.UserAgent
	client *sipgo.Client
}

func newSIPClient(host string, log *slog.Logger) (*sipClient, error) {
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("frontdesk-testbed"),
		sipgo.WithUserAgentHostname(Domain),
	)
	if err != nil {
		return nil, fmt.Errorf("testbed: sip user agent: %w", err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname(host), sipgo.WithClientLogger(log))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("testbed: sip client: %w", err)
	}
	return &sipClient{ua: ua, client: c}, nil
}

func (c *sipClient) close() { _ = c.ua.Close() }

// options sends OPTIONS to uri via proxy ("host:port") and returns the final
// response.
func (c *sipClient) options(ctx context.Context, uri sip.Uri, proxy string, timeout time.Duration) (*sip.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := sip.NewRequest(sip.OPTIONS, uri)
	req.SetDestination(proxy)
	req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	res, err := c.client.Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("OPTIONS %s: %w", uri.String(), err)
	}
	return res, nil
}

// doAuth sends req and answers one 401/407 challenge with the credentials.
func (c *sipClient) doAuth(ctx context.Context, req *sip.Request, user, password string) (*sip.Response, error) {
	res, err := c.client.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired {
		code := res.StatusCode
		res, err = c.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
		if err != nil {
			return nil, fmt.Errorf("after %d challenge: %w", code, err)
		}
	}
	return res, nil
}
