package webrtclite

import (
	"errors"
	"net"
	"syscall"
)

// A Driver reads transports' sockets from a loop of its own instead of a
// reader goroutine per transport (Linux), so that one wake-up serves the
// shared socket and whatever else the driver polls. The driver calls
// ReadRound from one goroutine, as often as it likes.
type Driver interface {
	// Add starts driving t. An error leaves t to its own reader.
	Add(t *Transport) error
	// Remove returns once the driver will not call t.ReadRound again.
	Remove(t *Transport)
}

// ReadRound takes what is waiting on a driven transport's socket, up to a
// batch, without waiting, and handles it as the reader goroutine would. It
// reports how many datagrams it took, and whether the batch was full (more
// may be waiting). Only the driver calls it, from one goroutine.
func (t *Transport) ReadRound() (n int, full bool, err error) {
	if t.driven == nil {
		return 0, false, errors.New("webrtclite: transport is not driven")
	}
	n, err = t.driven.poll()
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return 0, false, err
		}
		return 0, false, nil // ICMP errors and the like: next round
	}
	for i := range n {
		t.receive(t.driven.packet(i), t.driven.from(i))
	}
	return n, n == readBatch, nil
}

// SyscallConn is the shared socket's raw connection.
func (t *Transport) SyscallConn() (syscall.RawConn, error) { return t.conn.SyscallConn() }
