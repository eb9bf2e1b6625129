package bridge

import "encoding/binary"

// rtpHeaderLen returns the length of the fixed header, CSRCs and extension
// of a raw RTP packet, or 0 when the packet is too short or not version 2.
func rtpHeaderLen(b []byte) int {
	if len(b) < 12 || b[0]>>6 != 2 {
		return 0
	}
	n := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < n+4 {
			return 0
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:]))
	}
	if n > len(b) {
		return 0
	}
	return n
}

// rtpPayload returns the payload of a raw packet without padding, or nil.
func rtpPayload(b []byte, hl int) []byte {
	end := len(b)
	if b[0]&0x20 != 0 {
		pad := int(b[end-1])
		if pad == 0 || hl+pad > end {
			return nil
		}
		end -= pad
	}
	return b[hl:end]
}

// maxGap bounds the time used to advance timestamps across a source change,
// so a long silence cannot overflow the arithmetic.
const maxGap = int64(3600e9)

// rewriter keeps one outgoing RTP stream continuous while its source
// changes: a new SSRC from the PBX after a transfer, the browser's stream
// after renegotiation, or packets the gateway generated itself (DTMF).
// When the source changes, the next packet continues the sequence and
// advances the timestamp by the wall time elapsed, so the receiver sees one
// stream with a talk-spurt marker rather than a reset. It is owned by one
// goroutine: no locks, no allocation.
type rewriter struct {
	outSSRC  uint32
	srcSSRC  uint32
	spurts   bool // audio: mark a new source as a talk spurt (video uses M for frames)
	haveSrc  bool
	resync   bool
	seqDelta uint16
	tsDelta  uint32
	lastSeq  uint16
	lastTS   uint32
	lastAt   int64 // monotonic ns of the last packet out
}

func newRewriter(audio bool, ssrc uint32, seq uint16, ts uint32, now int64) rewriter {
	return rewriter{spurts: audio, outSSRC: ssrc, lastSeq: seq, lastTS: ts, lastAt: now}
}

// next maps an incoming (ssrc, seq, ts) to the outgoing seq and ts. marker
// is true for the first packet of a new source.
func (r *rewriter) next(ssrc uint32, seq uint16, ts uint32, clock uint32, now int64) (oseq uint16, ots uint32, marker bool) {
	if !r.haveSrc || ssrc != r.srcSSRC || r.resync {
		marker = r.spurts && (!r.haveSrc || ssrc != r.srcSSRC)
		r.seqDelta = r.lastSeq + 1 - seq
		r.tsDelta = r.tsAt(now, clock) - ts
		r.srcSSRC, r.haveSrc, r.resync = ssrc, true, false
	}
	oseq, ots = seq+r.seqDelta, ts+r.tsDelta
	if int16(oseq-r.lastSeq) > 0 {
		r.lastSeq, r.lastTS, r.lastAt = oseq, ots, now
	}
	return oseq, ots, marker
}

// tsAt is the outgoing timestamp "now" would have, from the last packet and
// the time since; at least one tick later so timestamps never repeat.
func (r *rewriter) tsAt(now int64, clock uint32) uint32 {
	gap := min(max(now-r.lastAt, 0), maxGap)
	step := uint32(gap * int64(clock) / 1e9)
	return r.lastTS + max(step, 1)
}

// takeSeq hands out the next sequence number for a generated packet.
func (r *rewriter) takeSeq() uint16 {
	r.lastSeq++
	return r.lastSeq
}

// generated records that generated packets with timestamp ts started at
// start; the next relayed packet then continues from there.
func (r *rewriter) generated(ts uint32, start int64) {
	r.lastTS, r.lastAt, r.resync = ts, start, true
}

// rewriteInPlace applies next to a raw packet and sets PT and SSRC.
func (r *rewriter) rewriteInPlace(b []byte, pt uint8, clock uint32, now int64) {
	seq, ts, marker := r.next(binary.BigEndian.Uint32(b[8:]), binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[4:]), clock, now)
	m := b[1] & 0x80
	if marker {
		m = 0x80
	}
	b[1] = m | pt&0x7f
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], r.outSSRC)
}
