package cluster

import (
	"context"
	"fmt"
	"sync"
)

// loopGroup runs a session's loops, each on its own goroutine: when one
// returns, cancel ends the others; the first failure is reported, later
// ones (the others failing with it, say when the connection drops) are
// dropped so that no loop blocks on its way out.
type loopGroup struct {
	wg   sync.WaitGroup
	errc chan error
}

func newLoopGroup() *loopGroup { return &loopGroup{errc: make(chan error, 1)} }

// start runs f until it returns, then calls cancel.
func (g *loopGroup) start(ctx context.Context, cancel context.CancelFunc, name string, f func(context.Context) error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(ctx); err != nil && ctx.Err() == nil {
			select {
			case g.errc <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
		cancel()
	}()
}

// failed yields the first failure.
func (g *loopGroup) failed() <-chan error { return g.errc }

// wait returns once every loop has returned.
func (g *loopGroup) wait() { g.wg.Wait() }
