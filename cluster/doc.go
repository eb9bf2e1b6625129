// Package cluster joins a gateway to others behind one load balancer,
// sharing what must be shared in one engine, NATS with JetStream. Without
// a cluster section in the config none of this runs.
//
// Use:
//
//	e, err := cluster.New(cluster.Options{Config: *cfg.Cluster, ConfigHash: cfg.SharedHash(),
//		UA: ua, Store: store, Hub: hub, Logger: log})
//	e.SetTargets(targets)       // the subscriptions the config needs
//	go e.Run(ctx)               // connects, reconnects, converges
//	e.Changed(target)           // after this node's store changed for target
//	e.Handover(ctx)             // SIGTERM: give the leases to other nodes
//	e.Status()                  // for /healthz and /metrics
//
// # Engine
//
// Run connects with the NATS client's own reconnect and runs one session
// per connection: it opens the buckets (created when missing), starts the
// watchers (each begins with a snapshot of the current entries, then
// follows updates) and the loops below. When the connection or a watcher
// fails the session ends; the next one, once NATS answers again, starts
// with fresh snapshots, so nothing depends on a watcher surviving a server
// restart. Buckets, all named <cluster.name>-…:
//
//   - nodes (TTL = lease_ttl): one heartbeat per node every lease_ttl/3,
//     with the node's config hash (config.SharedHash) and whether it
//     drains. A node counts as live while its last heartbeat is younger
//     than the lease (NATS 2.9 does not tell watchers about entries that
//     expire, so age is judged from each entry's server timestamp). Status
//     names the live nodes whose hash differs.
//   - leases (TTL = lease_ttl): one key per (agent URI, event package).
//   - availability (no TTL): the last state heard of each (URI, event).
//
// # One subscription per agent and event
//
// A lease is taken with Create (compare-and-set on "no entry"), renewed
// every lease_ttl/3 with Update on the revision last written (fails once
// another node took it), and given back with a Delete on that revision.
// The bucket's TTL ends a lease that is not renewed, so a node that dies
// loses its leases lease_ttl after its last renewal and a live node takes
// them within a quarter of the lease more. Only the holder subscribes at
// the PBX (SetSubscriptions on the UA); the PBX sees one SUBSCRIBE dialog
// per (agent, event) whatever the number of nodes. The node that takes a
// free lease is the preferred one among the live nodes by rendezvous
// hashing (so leases spread and a leaving node moves only its own), any
// other after lease_ttl/3. Handover (SIGTERM) marks the node draining and
// deletes its leases: the watchers of the other nodes see the deletes and
// the preferred one subscribes at once.
//
// # Availability
//
// The holder's own store is fed by its NOTIFYs as on a single node;
// Changed queues a Put of the store's presence.Snapshot for that target.
// Every other node restores each entry into its store and signals its hub,
// so visitors on every node see the change; a node that starts gets the
// current state of every agent from the watcher's snapshot, not at the next
// NOTIFY.
//
// Stale state is kept off: a lease held from before an outage is published
// for only once renewed or taken in the new session, and a node ignores
// the bucket for targets its own UA subscribes to (held or standalone),
// taking the bucket's last entry when it stops.
//
// # Chats
//
// The engine implements chat.Shared (chats.go): a chats bucket with each
// chat's record (written with compare-and-set on the revision its holder
// last wrote), the agents' chat slots (Create: max_per_agent holds across
// nodes) and each agent's last chat end (the hand-over). Nodes talk about
// chats over request/reply on <name>.chat.<node>: release (hand a chat to
// the asker: the holder saves it with the asker as owner, so no third node
// finds it without one), probe (is it held here, or being taken over?) and
// message (a reply forwarded to the holder). A holder that died has no
// responder on its subject, which NATS tells at once, so its chats are
// taken over without waiting for its heartbeat to age; a sweep every lease
// takes over chats of dead holders (their grace period then ends on the
// new node, which tells the agent) and frees slots of chats that no longer
// exist. Taking a chat over is tried a few times (takeTries): a lost
// compare-and-set is read again, and a reply whose chat another node just
// took is forwarded there. The chat record keeps the replies it answered
// (chat package, replies.go), so a forked copy that reaches a later holder
// is not shown twice.
//
// # Limits and calls
//
// limits.go: start rates per client address and per agent are token
// buckets in the limits bucket, read and written with compare-and-set (a
// lost race is tried again, tokens taken meanwhile are given back); calls
// hold one of their agent's max_calls_per_agent slots in the calls bucket
// (TTL two leases), renewed by their node every lease_ttl/3. Out of reach,
// widget counts alone. Once a call is answered its SIP dialog
// (sip.DialogID) is written into its slot; every lease_ttl/3 each node
// looks for slots of nodes that are gone (no heartbeat for a lease,
// counted from when this node reached the engine, and no responder on
// their subject: a live node lacks one for a moment while it reconnects)
// and, the one whose Delete by revision wins, frees the slot and ends the
// call's PBX leg with a BYE of its own (sip.UA.Bye). So a dead node's
// calls end, and their slots free, between one lease and a lease and a
// third after its last heartbeat; the bucket's TTL frees them after two
// when no node does.
//
// # Out of reach
//
// While NATS does not answer, a node keeps the subscriptions it holds and
// the state it last had, and says so in Status (Connected false, LostAt).
// Once the outage lasts longer than the lease, every lease has run out on
// the server anyway: the node then subscribes to every wanted target
// itself (standalone), so presence stays right on each node on its own.
// When NATS answers again, leases are renewed by revision where they
// survived, else taken anew (one node wins each Create), standalone
// subscriptions without a lease are dropped, and holders publish their
// current state again.
package cluster
