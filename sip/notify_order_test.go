package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// orderRecorder records the CSeq each delivered NOTIFY carries in its body
// ("cseq=N"), in delivery order, and whether deliveries ever overlapped.
type orderRecorder struct {
	*recorder
	mu        sync.Mutex
	seqs      []int
	inNotify  int
	overlaped bool
}

func (r *orderRecorder) Notify(n Notification) {
	r.mu.Lock()
	r.inNotify++
	if r.inNotify > 1 {
		r.overlaped = true
	}
	seq, _ := strconv.Atoi(strings.TrimPrefix(string(n.Body), "cseq="))
	r.seqs = append(r.seqs, seq)
	r.mu.Unlock()
	time.Sleep(50 * time.Microsecond) // a store that takes a moment
	r.mu.Lock()
	r.inNotify--
	r.mu.Unlock()
}

// NOTIFYs of one dialog sent back to back in pairs reach the Handler in
// CSeq order, one at a time: the older of a pair is either refused (it
// arrived second) or delivered before the newer.
func TestConcurrentNotifiesDeliveredInOrder(t *testing.T) {
	f := newFakePBX(t, "127.0.0.1")
	f.setAnswer(acceptSubscribe)
	rec := &orderRecorder{recorder: newRecorder()}
	u, _ := startUA(t, f, rec, nil, Options{})
	u.SetSubscriptions([]Target{alice})
	sub := f.next(sip.SUBSCRIBE)

	const pairs = 300
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for k := 1; k <= pairs; k++ {
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, seq := range []uint32{uint32(2 * k), uint32(2*k + 1)} {
			req := f.notifyRequest(sub, "notifier", seq, "active", "application/pidf+xml", fmt.Sprintf("cseq=%d", seq))
			wg.Go(func() {
				res, err := f.cli.Do(ctx, req)
				switch {
				case err != nil:
					errs <- err
				case res.StatusCode != 200 && res.StatusCode != 500:
					errs <- fmt.Errorf("NOTIFY %d answered %d", seq, res.StatusCode)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.seqs) < pairs {
		t.Fatalf("%d NOTIFYs delivered for %d pairs", len(rec.seqs), pairs)
	}
	inversions := 0
	for i := 1; i < len(rec.seqs); i++ {
		if rec.seqs[i] <= rec.seqs[i-1] {
			inversions++
		}
	}
	if inversions > 0 {
		t.Errorf("%d of %d NOTIFYs reached the Handler after a newer one", inversions, len(rec.seqs))
	}
	if rec.overlaped {
		t.Error("the Handler was called for one subscription while a call was still running")
	}
}
