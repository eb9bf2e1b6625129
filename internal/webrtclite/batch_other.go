//go:build !linux

package webrtclite

import (
	"net/netip"
	"syscall"
)

// batchReader is Linux's recvmmsg reader; elsewhere the transport reads
// one datagram per call.
// readBatch matches Linux: the reader never fills a batch here.
const readBatch = 32

type batchReader struct{}

// batchesSupported: a Driver is declined here.
const batchesSupported = false

func newBatchReader(syscall.RawConn) *batchReader { return nil }

func (*batchReader) next() (int, error)      { return 0, nil }
func (*batchReader) poll() (int, error)      { return 0, nil }
func (*batchReader) packet(int) []byte       { return nil }
func (*batchReader) from(int) netip.AddrPort { return netip.AddrPort{} }
