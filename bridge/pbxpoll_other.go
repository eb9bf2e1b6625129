//go:build !linux

package bridge

import (
	"errors"

	"github.com/frontdesk-gw/frontdesk/internal/webrtclite"
)

// pbxPoller is Linux's poller of lite calls' PBX sockets; elsewhere each
// call keeps a goroutine on its socket.
type pbxPoller struct{}

type polledPBX struct{}

func newPBXPoller() (*pbxPoller, error) { return nil, nil }

func (*pbxPoller) add(*portPair, *pbxRelay, *Call) (*polledPBX, error) {
	return nil, errors.New("no PBX poller on this system")
}
func (*pbxPoller) remove(*polledPBX)         {}
func (*pbxPoller) close() error              { return nil }
func (*pbxPoller) driver() webrtclite.Driver { return nil }
