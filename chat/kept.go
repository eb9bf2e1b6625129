package chat

// What a chat keeps for its visitor: every agent message and delivery
// result gets the chat's next sequence number and stays until the widget
// acknowledges it (Attachment.Ack, or the seq a Resume names), so a
// half-open websocket or a reload loses nothing: Resume replays what came
// after the last number the widget saw.
const (
	// keepLimit bounds the unacknowledged events of a chat, counting the
	// delivery results still to come for queued texts.
	keepLimit = 200
	// keepBytes bounds the unacknowledged agent text of a chat.
	keepBytes = 256 << 10
	// keptOverhead is what one kept event costs besides its strings.
	keptOverhead = 64
)

// keptEvents holds numbered events, oldest first: all that are not
// acknowledged, and acknowledged ones while there is room (a second tab
// that resumes with an older number still gets them).
type keptEvents struct {
	seq          uint64 // the last number given
	acked        uint64 // the widget saw everything up to here
	events       []Event
	bytes        int // of events
	unackedBytes int
}

func eventSize(ev Event) int { return keptOverhead + len(ev.Text) + len(ev.ID) + len(ev.ClientID) }

// unacked is how many kept events the widget has not acknowledged.
func (k *keptEvents) unacked() int { return int(k.seq - k.acked) }

// unseenMessages counts the agent's messages the widget has not acknowledged.
func (k *keptEvents) unseenMessages() int {
	n := 0
	for _, ev := range k.events {
		if ev.Seq > k.acked && ev.Kind == EventMessage {
			n++
		}
	}
	return n
}

// roomFor reports whether an agent text of n bytes may be kept, with
// inflight delivery results still to come.
func (k *keptEvents) roomFor(n, inflight int) bool {
	return k.unacked()+inflight < keepLimit && k.unackedBytes+keptOverhead+n <= keepBytes
}

// add numbers ev, keeps it and drops acknowledged events beyond the bounds.
func (k *keptEvents) add(ev Event) Event {
	k.seq++
	ev.Seq = k.seq
	size := eventSize(ev)
	k.events = append(k.events, ev)
	k.bytes += size
	k.unackedBytes += size
	drop := 0
	for drop < len(k.events) && k.events[drop].Seq <= k.acked &&
		(len(k.events)-drop > keepLimit || k.bytes > keepBytes) {
		k.bytes -= eventSize(k.events[drop])
		drop++
	}
	if drop > 0 {
		k.events = append(k.events[:0], k.events[drop:]...)
	}
	return ev
}

// ack records that the widget saw everything up to seq; a number beyond
// the last one given is taken as the last one.
func (k *keptEvents) ack(seq uint64) {
	seq = min(seq, k.seq)
	if seq <= k.acked {
		return
	}
	for _, ev := range k.events {
		if ev.Seq > k.acked && ev.Seq <= seq {
			k.unackedBytes -= eventSize(ev)
		}
	}
	k.acked = seq
}

// after returns the kept events numbered above seq, in order.
func (k *keptEvents) after(seq uint64) []Event {
	for i, ev := range k.events {
		if ev.Seq > seq {
			return k.events[i:]
		}
	}
	return nil
}
