package webrtclite

import (
	"errors"
	"fmt"
	"net"
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

// QueueRTP is WriteRTP for code on the driver's goroutine: the packet is
// encrypted into the transport's outgoing batch, which the driver's Flush
// sends with one system call (sendmmsg) for every session's packets of a
// round. On a transport without a driver it is WriteRTP. No allocation.
func (s *Session) QueueRTP(pkt []byte) error {
	w := s.t.out
	if w == nil {
		return s.WriteRTP(pkt)
	}
	k, to := s.keys.Load(), s.remote.Load()
	if k == nil || to == nil {
		return errNotConnected
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if w.full() {
		if err := s.t.Flush(); err != nil && errors.Is(err, net.ErrClosed) {
			return err
		}
	}
	out, err := k.localRTP.EncryptRTP(w.slot(), pkt, &s.rtpOut.hdr)
	if err != nil {
		return fmt.Errorf("SRTP: %w", err)
	}
	return w.add(out, *to)
}

// Flush sends the packets QueueRTP collected. The driver calls it at the
// end of each round, on its goroutine.
func (t *Transport) Flush() error {
	if t.out == nil {
		return nil
	}
	if err := t.out.flush(); err != nil {
		return fmt.Errorf("send batch: %w", err)
	}
	return nil
}
