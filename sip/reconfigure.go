package sip

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/frontdesk-gw/frontdesk/config"
)

// Reconfigure applies a new SIP config while running. Identity, registrar,
// proxy, password or expiry changes unregister the old binding and register
// the new one; subscriptions are restarted when what they are sent with
// changed. A changed listen address, public address, transport or TLS
// setting returns ErrRestartRequired and changes nothing: the transport is
// bound once per Run. Until a Reconfigure matches the running transport
// again, Status().Warning says that a restart is required and for what.
func (u *UA) Reconfigure(cfg config.SIP) error {
	ns, err := parseSettings(cfg)
	if err != nil {
		return fmt.Errorf("sip reconfigure: %w", err)
	}
	old := u.settings()
	changed := transportChanges(old.cfg, cfg)
	u.mu.Lock()
	u.status.Warning = ""
	if len(changed) > 0 {
		u.status.Warning = "restart required: " + strings.Join(changed, ", ") + " changed; the running SIP settings are the previous ones"
	}
	u.mu.Unlock()
	if len(changed) > 0 {
		return fmt.Errorf("%w (%s)", ErrRestartRequired, strings.Join(changed, ", "))
	}
	if reflect.DeepEqual(old.cfg, cfg) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	trust, err := buildTrust(ctx, ns, u.resolver)
	cancel()
	if err != nil {
		return fmt.Errorf("sip reconfigure: %w", err)
	}

	u.mu.Lock()
	defer u.mu.Unlock()
	u.set = ns
	u.tls.setServerName(ns.tlsName())
	if u.started.Load() {
		u.trust.Store(trust)
	}
	if u.runCtx == nil || u.stopping {
		return nil
	}
	if regChanged(old, ns) {
		select { // only the latest settings matter
		case <-u.regReconf:
		default:
		}
		u.regReconf <- ns
	}
	if subChanged(old, ns) {
		for t, sub := range u.subs {
			sub.cancel() // the loop unsubscribes with its old dialog
			delete(u.subs, t)
		}
		for ev, sub := range u.lists {
			u.stopListLocked(sub)
			delete(u.lists, ev)
		}
		u.reconcileLocked()
	}
	return nil
}

func regChanged(a, b settings) bool {
	return a.aor.String() != b.aor.String() || a.registrar.String() != b.registrar.String() || !reflect.DeepEqual(a.proxy, b.proxy) ||
		a.authUser != b.authUser || a.cfg.ResolvedPassword != b.cfg.ResolvedPassword ||
		a.regExpiry != b.regExpiry || a.cfg.DisplayName != b.cfg.DisplayName
}

func subChanged(a, b settings) bool {
	return a.aor.String() != b.aor.String() || a.registrar.String() != b.registrar.String() || !reflect.DeepEqual(a.proxy, b.proxy) ||
		a.authUser != b.authUser || a.cfg.ResolvedPassword != b.cfg.ResolvedPassword ||
		a.subExpiry != b.subExpiry || a.cfg.DisplayName != b.cfg.DisplayName || !reflect.DeepEqual(a.cfg.ResourceList, b.cfg.ResourceList)
}
