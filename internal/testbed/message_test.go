package testbed

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReceivedMessagesLeavesOutSentOnes: baresip's SIP trace holds the
// MESSAGEs an agent sent as well as those it received; only the received
// ones are the agent's inbox.
func TestReceivedMessagesLeavesOutSentOnes(t *testing.T) {
	trace := "UDP 127.0.0.1:15060 -> 127.0.0.1:15070\n" +
		"MESSAGE sip:alice-1@127.0.0.1:15070 SIP/2.0\r\n" +
		"From: \"Vera Visitor\" <sip:frontdesk@frontdesk.test>;tag=a1\r\n" +
		"To: <sip:alice@frontdesk.test>\r\n" +
		"Content-Length: 5\r\n\r\nHello\n" +
		"UDP 127.0.0.1:15070 -> 127.0.0.1:15060\n" +
		"MESSAGE sip:frontdesk@frontdesk.test SIP/2.0\r\n" +
		"From: <sip:alice@frontdesk.test>;tag=b2\r\n" +
		"To: <sip:frontdesk@frontdesk.test>\r\n" +
		"Content-Length: 9\r\n\r\nHi, Vera!\n" +
		"MESSAGE sip:frontdesk@frontdesk.test SIP/2.0\r\n" +
		"From: sip:alice@frontdesk.test;tag=b3\r\n" +
		"Content-Length: 3\r\n\r\nBye\n"
	path := filepath.Join(t.TempDir(), "baresip-alice.log")
	if err := os.WriteFile(path, []byte(trace), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &Agent{name: "alice", proc: &proc{logPath: path}}
	msgs, err := a.ReceivedMessages()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Body != "Hello" {
		t.Fatalf("received %+v, want only the visitor's Hello", msgs)
	}
}
