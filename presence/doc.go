// Package presence turns what the SIP side hears (NOTIFY bodies for the
// presence and dialog event packages) into agent availability, and fans
// availability changes out to any number of watchers.
//
// Parsers: ParsePresence reads PIDF (RFC 3863) with RPID (RFC 4480), the old
// draft namespaces, and XPIDF, under application/pidf+xml, xpidf+xml and
// cpim-pidf+xml (the root element decides the format). ParseDialogInfo reads
// dialog-info (RFC 4235). Both are lenient about element order, namespaces
// and vendor quirks (see the shared corpus), and strict about size
// (MaxBodySize) and DOCTYPE internal subsets. Errors wrap the sentinels in
// errors.go. Status.MarshalPIDF and DialogInfo.MarshalDialogInfo produce
// documents for test PBXs and round-trip tests.
//
// Store keeps the latest state per monitored URI: ApplyPresence and
// ApplyDialog take NOTIFY bodies (an empty body means "no information"),
// Reset forgets an event's state when its subscription ends, Refuse when
// the PBX refuses the package (then the other one alone decides, until a
// document of the refused one arrives), and Availability answers for a
// config.Agent by its mode and source. Presence alone reads busy from RPID
// and from the notes PBXs write (Status.NoteSaysBusy); dialog state alone
// is available while no dialog is active. Explain says why: the state held and
// the rule that decided, in words, for operators. Version increments on
// every change.
//
// Hub coalesces rapid changes and signals watchers without ever blocking on a
// slow one: each watcher owns a one-slot channel that is either empty or holds
// "something changed"; watchers then read the current state from the Store.
// Typical wiring:
//
//	if changed, err := store.ApplyPresence(uri, ctype, body); err == nil && changed {
//		hub.Changed()
//	}
//
//	w := hub.Watch()
//	defer w.Close()
//	for { send(snapshot(store)); select { case <-w.C(): case <-ctx.Done(): return } }
package presence
