package testbed

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"
)

// RestartPBX stops Kamailio and starts it again on the same port, as a PBX
// restart does: every registration, subscription and publication it held in
// memory is gone. Accounts stay. It returns once Kamailio answers OPTIONS.
func (t *Testbed) RestartPBX(ctx context.Context) error {
	if err := t.StopPBX(); err != nil {
		return err
	}
	return t.StartPBX(ctx)
}

// StopPBX stops Kamailio (SIGTERM, SIGKILL after 5 s): the PBX is gone until
// StartPBX, and what it held in memory with it.
func (t *Testbed) StopPBX() error {
	if t.kam == nil {
		return nil
	}
	if err := t.kam.stop(5 * time.Second); err != nil {
		return fmt.Errorf("testbed: stop kamailio: %w", err)
	}
	t.kam = nil
	t.log.Info("kamailio stopped", "addr", t.Addr())
	return nil
}

// StartPBX starts Kamailio again on its port after StopPBX and returns once
// it answers OPTIONS.
func (t *Testbed) StartPBX(ctx context.Context) error {
	if t.kam != nil {
		return errors.New("testbed: kamailio is running")
	}
	if err := t.startKamailio(ctx, 10*time.Second); err != nil {
		return fmt.Errorf("testbed: restart kamailio: %w", err)
	}
	t.log.Info("kamailio started again", "addr", t.Addr())
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
