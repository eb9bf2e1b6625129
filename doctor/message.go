package doctor

import (
	"context"
	"errors"
	"fmt"

	"github.com/frontdesk-gw/frontdesk/sip"
)

// testMessageText is what the test agent reads.
const testMessageText = "Frontdesk doctor: a test message from the website gateway. No reply needed."

// testAgent is the address that agreed to a test message, "" for none.
func (d *doctor) testAgent() string {
	if d.o.TestAgent != "" {
		return d.o.TestAgent
	}
	return d.cfg.Doctor.TestAgentURI
}

// checkMessage sends one MESSAGE to the test agent, as chats do.
func (d *doctor) checkMessage(ctx context.Context) {
	to := d.testAgent()
	if to == "" {
		d.r.Skip("MESSAGE: not checked: set doctor.test_agent (or --test-agent) to an agent who agreed to get a test message")
		return
	}
	code, err := d.ua.SendMessage(ctx, sip.OutgoingMessage{To: to, DisplayName: "Frontdesk doctor", Body: []byte(testMessageText)})
	switch {
	case err == nil:
		d.r.OK("MESSAGE to %s: %d: delivered to a phone of the agent (chats will reach them)", to, code)
	case errors.Is(err, sip.ErrNoResponse):
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("MESSAGE to %s: no answer", to),
			Cause: "the PBX or the agent's phone does not answer MESSAGE", Fix: adviceMessage})
	case code == 401 || code == 407 || errors.Is(err, sip.ErrAuthRejected):
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("MESSAGE to %s: %d again after the challenge", to, code),
			Cause: "the PBX refuses the gateway's credentials for MESSAGE", Fix: adviceAuth})
	case code == 404 || code == 480:
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("MESSAGE to %s: %d: no phone of the agent took it", to, code),
			Cause: "the agent is unknown, or none of its phones is registered now", Fix: adviceMessage})
	case code == 405 || code == 415 || code == 501:
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("MESSAGE to %s: %d: the phone or the PBX does not take text messages", to, code),
			Cause: "SIP MESSAGE (RFC 3428) with text/plain is not supported on the way", Fix: adviceMessage})
	default:
		d.r.Add(Line{Status: StatusFail, Text: fmt.Sprintf("MESSAGE to %s: %v", to, err), Fix: adviceMessage})
	}
}
