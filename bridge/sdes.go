package bridge

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/pion/srtp/v3"
)

// SDES suites offered and accepted (RFC 4568). AES-CM-128 is what PBXs
// implement; GCM and 256-bit suites are left out so the offer stays short.
const (
	suite80 = "AES_CM_128_HMAC_SHA1_80"
	suite32 = "AES_CM_128_HMAC_SHA1_32"
)

const sdesKeyLen = 30 // 16-byte key + 14-byte salt

// sdesState is the gateway's own SDES key and the contexts built so far.
// Owned by the call goroutine; contexts are handed to relays via routes.
type sdesState struct {
	key    []byte
	suite  string // suite of the current out contexts
	out    *srtp.Context
	outRC  *srtp.Context
	remote string // the PBX key the in contexts were built from
	in     *srtp.Context
	inRC   *srtp.Context
}

func newSDES() (*sdesState, error) {
	k := make([]byte, sdesKeyLen)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("SDES key: %w", err)
	}
	return &sdesState{key: k}, nil
}

func (s *sdesState) inline() string { return base64.StdEncoding.EncodeToString(s.key) }

func profileOf(suite string) (srtp.ProtectionProfile, bool) {
	switch suite {
	case suite80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, true
	case suite32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, true
	}
	return 0, false
}

// pickCrypto returns the first a=crypto line with a suite we support.
func pickCrypto(cs []crypto) (crypto, bool) {
	for _, c := range cs {
		if _, ok := profileOf(c.suite); ok {
			return c, true
		}
	}
	return crypto{}, false
}

// keys returns contexts for the PBX's crypto line, reusing the existing
// ones when neither key nor suite changed, so SRTP rollover state survives
// a re-INVITE that repeats the same keys.
func (s *sdesState) keys(remote crypto) (*srtpKeys, error) {
	prof, ok := profileOf(remote.suite)
	if !ok {
		return nil, fmt.Errorf("SDES suite %q: %w", remote.suite, ErrIncompatibleAnswer)
	}
	if s.out == nil || s.suite != remote.suite {
		out, err1 := srtp.CreateContext(s.key[:16], s.key[16:], prof)
		outRC, err2 := srtp.CreateContext(s.key[:16], s.key[16:], prof)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("SRTP context: %w", firstErr(err1, err2))
		}
		s.out, s.outRC, s.suite = out, outRC, remote.suite
	}
	if s.in == nil || s.remote != remote.suite+" "+remote.key {
		k, err := base64.StdEncoding.DecodeString(remote.key)
		if err != nil {
			k, err = base64.RawStdEncoding.DecodeString(remote.key)
		}
		if err != nil || len(k) != sdesKeyLen {
			return nil, fmt.Errorf("SDES key of the PBX is not %d bytes of base64: %w", sdesKeyLen, ErrIncompatibleAnswer)
		}
		in, err1 := srtp.CreateContext(k[:16], k[16:], prof)
		inRC, err2 := srtp.CreateContext(k[:16], k[16:], prof)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("SRTP context: %w", firstErr(err1, err2))
		}
		s.in, s.inRC, s.remote = in, inRC, remote.suite+" "+remote.key
	}
	return &srtpKeys{in: s.in, out: s.out, inRTCP: s.inRC, outRTCP: s.outRC}, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
