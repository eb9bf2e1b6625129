//go:build integration

package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startClusterHAProxy runs HAProxy in front of the nodes' visitor ports
// (HTTP mode, websockets, health checks every 300 ms so that a dead node
// is left out quickly) and returns its address.
func startClusterHAProxy(t *testing.T, nodes []*clusterNode) string {
	t.Helper()
	port := freeTCPPort(t)
	var servers strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&servers, "  server %s %s check inter 300ms fall 1 rise 1\n", n.name, n.httpAddr())
	}
	startHAProxy(t, fmt.Sprintf(`global
  maxconn 2000
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h
  retries 3
  option redispatch
frontend web
  bind 127.0.0.1:%d
  option forwardfor
  default_backend frontdesk
backend frontdesk
  balance roundrobin
%s`, port, servers.String()))
	addr := "127.0.0.1:" + strconv.Itoa(port)
	waitListening(t, addr)
	return addr
}

// chatHolder is the node whose log says it opened or took over the chat.
func chatHolder(t *testing.T, nodes []*clusterNode, msg string) *clusterNode {
	t.Helper()
	var found *clusterNode
	waitUntil(t, "a node logs "+msg, updateLimit, func() bool {
		for _, n := range nodes {
			for _, l := range n.g.logLines() {
				if l["msg"] == msg {
					found = n
					return true
				}
			}
		}
		return false
	})
	return found
}

// agentReply sends text as alice's client would (a MESSAGE to the
// gateway's AoR, which Kamailio forks to every node's contact) and returns
// the final status the agent's client got.
func agentReply(t *testing.T, tbSend func(text string) (int, error), text string) int {
	t.Helper()
	code, err := tbSend(text)
	if err != nil {
		t.Fatalf("agent reply %q: %v", text, err)
	}
	return code
}

// chatTexts collects the ChatMessage texts v receives until it has want of
// them (bounded), acknowledging each like the widget does.
func (v *visitor) chatTexts(what string, want int) []string {
	v.t.Helper()
	var texts []string
	for len(texts) < want {
		m, _ := v.waitFor(what, updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatMessage" })
		texts = append(texts, m["text"].(string))
		v.send(fmt.Sprintf(`{"mt":"ChatAck","seq":%d}`, uint64(m["seq"].(float64))))
	}
	return texts
}

// TestClusterChatAnywhere: a visitor chats through HAProxy; the agent's
// replies reach it whichever node the forked MESSAGE is handled on; SIGKILL
// of the visitor's node: a reply meanwhile is held by another node (the
// agent gets 2xx), the widget reconnects through HAProxy and resumes, and
// every reply arrives exactly once, in order.
func TestClusterChatAnywhere(t *testing.T) {
	tb, ns := startClusterTestbed(t)
	body := "chat:\n  resume_grace: 30s\n  send_timeout: 2s\n" + clusterWidgets
	nodes := startClusterNodes(t, tb, ns, 3, "", "", body)
	lb := startClusterHAProxy(t, nodes)
	ctx := ctxT(t, 3*time.Minute)
	send := func(text string) (int, error) {
		return tb.SendMessageAs(ctx, "alice", "alice-pw", "frontdesk", "text/plain", []byte(text))
	}

	v := nodes[0].g.visitVia(lb, e2eOrigin)
	if _, infos := v.start(e2eWidget); infos["alice"]["presence"] != "online" {
		v.waitFor("alice online", updateLimit, infoOf("alice", "online"))
	}
	v.send(`{"mt":"ChatOpen","dest":"alice","dn":"Vera"}`)
	opened, _ := v.waitFor("chat opened", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatOpened" })
	token := opened["token"].(string)
	holder := chatHolder(t, nodes, "chat opened")
	holder.g.waitLog(t, "the new-chat notice accepted", func(l map[string]any) bool { return l["msg"] == "chat notice accepted" })

	if code := agentReply(t, send, "first reply"); code != 200 {
		t.Errorf("first reply: the agent's client got %d, want 200", code)
	}
	got := v.chatTexts("first reply", 1)
	seen := v.lastSeq()

	// Another visitor cannot chat with alice on any other node: one
	// agent-routed chat per agent across the cluster.
	for _, n := range nodes {
		if n == holder {
			continue
		}
		w := n.g.visit(e2eOrigin)
		w.start(e2eWidget)
		w.send(`{"mt":"ChatOpen","dest":"alice","dn":"Walt"}`)
		if m, _ := w.waitFor("refused", updateLimit, func(m map[string]any) bool { return m["mt"] == "Error" || m["mt"] == "ChatOpened" }); m["code"] != "agent-busy" {
			t.Errorf("%s: a second chat with alice got %v, want agent-busy", n.name, m)
		}
	}

	holder.kill()
	v.closed("the dead node's websocket")

	// While the visitor is away the reply is held by a node that takes the
	// chat over (the dead node's binding is still forked to, and never
	// answers).
	sentAt := time.Now()
	code := agentReply(t, send, "second reply")
	if code < 200 || code > 299 {
		t.Errorf("reply while the visitor's node is dead: the agent's client got %d, want 2xx", code)
	}
	t.Logf("reply while the visitor's node is dead: %d after %v (held by %s)", code, time.Since(sentAt),
		chatHolder(t, nodes, "chat taken over from another node").name)
	w := nodes[0].g.visitVia(lb, e2eOrigin)
	w.start(e2eWidget)
	w.send(fmt.Sprintf(`{"mt":"ChatResume","token":%q,"seq":%d}`, token, seen))
	if m, _ := w.waitFor("resumed", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatOpened" || m["mt"] == "Error" }); m["resumed"] != true {
		t.Fatalf("resume on another node: %v", m)
	}
	got = append(got, w.chatTexts("the reply held meanwhile", 1)...)
	if code := agentReply(t, send, "third reply"); code != 200 {
		t.Errorf("reply after the resume: the agent's client got %d, want 200", code)
	}
	got = append(got, w.chatTexts("the reply after the resume", 1)...)
	w.quiet("nothing twice", time.Second, func(m map[string]any) bool { return m["mt"] == "ChatMessage" })
	if want := []string{"first reply", "second reply", "third reply"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("the visitor saw %q, want %q", got, want)
	}
}

// closed waits (bounded) until v's websocket is closed, skipping what
// arrives before.
func (v *visitor) closed(what string) {
	v.t.Helper()
	deadline := time.After(updateLimit)
	for {
		select {
		case _, ok := <-v.msgs:
			if !ok {
				return
			}
		case <-deadline:
			v.t.Fatalf("%s: still open after %v", what, updateLimit)
		}
	}
}
