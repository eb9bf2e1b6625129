//go:build !linux

package webrtclite

import (
	"net/netip"
	"syscall"
)

// batchWriter is Linux's sendmmsg writer; elsewhere a driver never exists
// and every datagram is sent on its own.
type batchWriter struct{}

func newBatchWriter(syscall.RawConn, bool) *batchWriter { return nil }

func (*batchWriter) full() bool                       { return false }
func (*batchWriter) slot() []byte                     { return nil }
func (*batchWriter) add([]byte, netip.AddrPort) error { return nil }
func (*batchWriter) flush() error                     { return nil }
