package testbed

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// RestartPBX stops Kamailio and starts it again on the same port, as a PBX
// restart does: every registration, subscription and publication it held in
// memory is gone. Accounts stay. It returns once Kamailio answers OPTIONS.
func (t *Testbed) RestartPBX(ctx context.Context) error {
	if t.kam != nil {
		if err := t.kam.stop(5 * time.Second); err != nil {
			return fmt.Errorf("testbed: stop kamailio: %w", err)
		}
	}
	if err := t.startKamailio(ctx, 10*time.Second); err != nil {
		return fmt.Errorf("testbed: restart kamailio: %w", err)
	}
	t.log.Info("kamailio restarted", "addr", t.Addr())
	return nil
}

// Ping sends OPTIONS to sip:user@domain through Kamailio and returns the
// final status: 200 means the user is registered and its client answered,
// 404 or 480 that Kamailio has no binding for it.
func (t *Testbed) Ping(ctx context.Context, user string) (int, error) {
	uri := sip.Uri{Scheme: "sip", User: user, Host: Domain}
	res, err := t.sip.options(ctx, uri, t.Addr(), 2*time.Second)
	if err != nil {
		return 0, fmt.Errorf("testbed: OPTIONS %s: %w", user, err)
	}
	return res.StatusCode, nil
}
