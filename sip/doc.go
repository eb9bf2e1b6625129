// Package sip is the gateway's SIP user agent, built on sipgo.
//
// A UA registers the gateway's address of record to the PBX with digest
// authentication and keeps it registered (refresh before expiry, backoff after
// failures, recovery after a PBX restart). It keeps one subscription per
// monitored URI and event package however many widgets use that URI, and
// reports what it hears to a Handler. It accepts requests only from trusted
// PBX source addresses. With tracing on, every SIP message is logged.
//
// The UA knows nothing of widgets: callers say which subscriptions they want
// with SetSubscriptions and the UA reconciles.
package sip
