// Package presence turns what the SIP side hears (NOTIFY bodies for the
// presence and dialog event packages) into agent availability, and fans
// availability changes out to any number of watchers.
//
// Parsers: ParsePresence reads PIDF (RFC 3863) with RPID (RFC 4480), the old
// draft namespaces, and XPIDF; ParseDialogInfo reads dialog-info (RFC 4235).
// Both are lenient about element order and vendor quirks and strict about
// size.
//
// Store keeps the latest state per monitored URI and answers Availability for
// an agent according to its mode (presence, always, boolean, inactive).
//
// Hub coalesces rapid changes and signals watchers without ever blocking on a
// slow one: each watcher owns a one-slot channel that is either empty or holds
// "something changed"; watchers then read the current state from the Store.
package presence
