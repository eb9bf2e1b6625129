// Package webrtclite carries many WebRTC media sessions over one UDP socket
// with little per-packet work: ICE (the gateway as an ICE-lite agent that
// only answers checks, or a controlling agent that sends them, for the load
// tool), DTLS-SRTP key agreement with pion/dtls, and SRTP with pion/srtp
// contexts keyed from the DTLS handshake (RFC 5764), all through public
// pion APIs.
//
// # Why
//
// A pion PeerConnection hands each received packet through several
// goroutines (socket reader, mux, SRTP session, track buffer) before the
// application sees it, and each hand-off is a wake-up. Here one reader
// goroutine per socket demultiplexes by source address (RFC 7983: STUN,
// DTLS, SRTP by first byte), decrypts SRTP in place and calls the session's
// handler on that same goroutine. Sending encrypts on the caller's goroutine
// and writes to the shared socket. Neither direction allocates or takes a
// lock per packet.
//
// # Sessions
//
// A Session is one peer: its ICE credentials, the peer's credentials and
// certificate fingerprint, and once ICE and DTLS are done, its SRTP
// contexts. Packets from an address count only after that address passed a
// STUN check with the session's credentials (for the lite agent: a binding
// request with a valid MESSAGE-INTEGRITY), so a stranger cannot inject
// media. The reader owns the address table; sessions register their
// credentials and leave through small mutex-guarded tables that only the
// STUN path and session setup touch.
package webrtclite
