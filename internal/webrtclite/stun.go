package webrtclite

import (
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/pion/stun/v4"
)

// handleSTUN answers connectivity checks and takes answers to our own. It
// runs on the reader goroutine; STUN is rare next to media, so it may
// allocate.
func (t *Transport) handleSTUN(pkt []byte, from netip.AddrPort) {
	if !stun.IsMessage(pkt) {
		return
	}
	m := &stun.Message{Raw: append([]byte(nil), pkt...)}
	if err := m.Decode(); err != nil {
		return
	}
	switch m.Type {
	case stun.BindingRequest:
		t.answerCheck(m, from)
	case stun.BindingSuccess:
		t.checkAnswered(m, from)
	}
}

// answerCheck answers a binding request addressed to one of our sessions
// (USERNAME "ours:theirs", MESSAGE-INTEGRITY with our password); anything
// else gets no answer at all.
func (t *Transport) answerCheck(m *stun.Message, from netip.AddrPort) {
	var user stun.Username
	if err := user.GetFrom(m); err != nil {
		return
	}
	local, _, _ := strings.Cut(user.String(), ":")
	t.mu.Lock()
	s := t.byUfrag[local]
	t.mu.Unlock()
	if s == nil || s.closed.Load() {
		return
	}
	if err := stun.NewShortTermIntegrity(s.pwd).Check(m); err != nil {
		return
	}
	resp, err := stun.Build(stun.NewTransactionIDSetter(m.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: from.Addr().AsSlice(), Port: int(from.Port())},
		stun.NewShortTermIntegrity(s.pwd), stun.Fingerprint)
	if err != nil {
		return
	}
	if err := t.writeTo(resp.Raw, from); err != nil {
		return
	}
	t.bind(s, from)
	if s.cfg.Role == Lite && (m.Contains(stun.AttrUseCandidate) || s.remote.Load() == nil) {
		// The controlling peer nominates; until it does, the first valid
		// pair is where media goes.
		s.setRemote(from)
	}
}

// checkAnswered takes the answer to one of our checks (controlling role).
func (t *Transport) checkAnswered(m *stun.Message, from netip.AddrPort) {
	t.mu.Lock()
	s := t.byTxn[m.TransactionID]
	delete(t.byTxn, m.TransactionID)
	var pwd string
	if s != nil {
		pwd = s.cfg.Peer.Pwd
	}
	t.mu.Unlock()
	if s == nil || s.closed.Load() {
		return
	}
	if err := stun.NewShortTermIntegrity(pwd).Check(m); err != nil {
		return
	}
	t.bind(s, from)
	if s.remote.Load() == nil {
		s.setRemote(from)
	}
}

// sendCheck sends a nominating binding request from s to to (controlling
// role: USE-CANDIDATE on every check, aggressive nomination).
func (t *Transport) sendCheck(s *Session, to netip.AddrPort) error {
	var prio, tie [8]byte
	binary.BigEndian.PutUint32(prio[:4], 0x7effffff)
	binary.BigEndian.PutUint64(tie[:], s.tieBreaker)
	m := stun.New()
	m.TransactionID = stun.NewTransactionID()
	m.Type = stun.BindingRequest
	m.WriteHeader()
	t.mu.Lock()
	peer := s.cfg.Peer
	t.mu.Unlock()
	if err := stun.NewUsername(peer.Ufrag + ":" + s.ufrag).AddTo(m); err != nil {
		return err
	}
	m.Add(stun.AttrPriority, prio[:4])
	m.Add(stun.AttrICEControlling, tie[:])
	m.Add(stun.AttrUseCandidate, nil)
	if err := stun.NewShortTermIntegrity(peer.Pwd).AddTo(m); err != nil {
		return err
	}
	if err := stun.Fingerprint.AddTo(m); err != nil {
		return err
	}
	t.mu.Lock()
	t.byTxn[m.TransactionID] = s
	t.mu.Unlock()
	return t.writeTo(m.Raw, to)
}
