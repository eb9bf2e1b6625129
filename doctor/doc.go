// Package doctor is `frontdesk doctor`: it checks the configured PBX step
// by step, as the gateway uses it, and says for each step what came back
// and, when it fails, the likely cause and the setting to change in
// frontdesk.yaml and on Kamailio, Asterisk and FreeSWITCH.
//
// The steps: DNS of the registrar and outbound proxy; an OPTIONS to the
// registrar; REGISTER with digest (what was challenged, what was granted,
// how many bindings the registrar holds); for every agent address the
// config uses, SUBSCRIBE presence and dialog with what each returns and
// whether the first NOTIFY carries usable state, and whether a phone
// answers an OPTIONS to the address; a MESSAGE to a test agent; a call to a
// test extension (ringing and early media, the answer, codecs offered and
// chosen, RTP both ways from a port of calls.rtp_ports, SRTP with SDES when
// calls.srtp is sdes, hold and resume by re-INVITE, DTMF both ways, BYE).
// The MESSAGE and the call go only to those who agreed: doctor.test_agent
// and doctor.test_extension, or the flags. Over TLS a registration proves
// the handshake and the certificate check; SIP over UDP or TCP is warned
// about, as is sip.tls_insecure.
//
// The doctor runs its own sip.UA with the gateway's settings but a port of
// its own (the listen host with port 0; behind a NAT the public host with
// that port), so it registers the gateway's user with a Contact of its own:
// a running gateway keeps its binding, and the doctor removes its own
// (Expires: 0) at the end. Every message it sends and reads goes to the
// trace file (transcript.go), which is also where the steps read what the
// PBX answered.
//
// Run returns the Report; Report.Failed says whether any line failed
// (the command's exit code).
package doctor
