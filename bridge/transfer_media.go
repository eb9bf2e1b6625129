package bridge

import "fmt"

// The media side of a transfer: the RTP socket toward the PBX stays, the
// new leg is offered the codecs the browser already uses (SIPLocalOffer),
// and its answer moves the route to the new far end.

// HoldTimeout pauses the RTP timeout while a transfer's new leg rings:
// the transferor may have put the visitor on hold or hung up already, and
// the new agent sends nothing before answering. Off starts the timeout
// over.
func (c *Call) HoldTimeout(on bool) error {
	err := c.do(func() error {
		if c.transferring == on {
			return nil
		}
		c.transferring = on
		if !on {
			c.mediaFrom = c.clock()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("call %s: pause RTP timeout: %w", c.id, err)
	}
	return nil
}

// SIPTransferAnswer applies the answer of a transfer's new leg to our
// SIPLocalOffer: the route moves to the new far end (a new generation, so
// the latch trusts the new SDP address), hold follows the new answer and
// the RTP timeout starts over. The browser leg is not touched; an answer
// with a codec the browser did not negotiate is ErrIncompatibleAnswer and
// leaves the current route as it was.
func (c *Call) SIPTransferAnswer(sdp []byte) error {
	err := c.do(func() error {
		if !c.answered {
			return ErrNotAnswered
		}
		if _, err := c.applyAnswer(sdp, true); err != nil {
			return err
		}
		rt := c.audio.route.Load()
		c.held = rt == nil || !(rt.dir == dirSendRecv || rt.dir == dirSendOnly)
		c.transferring = false
		c.mediaFrom = c.clock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("call %s: apply transfer answer: %w", c.id, err)
	}
	return nil
}
