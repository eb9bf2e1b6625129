//go:build integration

package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// startClusterHAProxy runs HAProxy in front of the nodes' visitor ports
// (HTTP mode, websockets) with the README's settings: /readyz on the admin
// port checked every 300 ms, so that a dead or draining node is left out
// quickly. It returns HAProxy's address.
func startClusterHAProxy(t *testing.T, nodes []*clusterNode) string {
	t.Helper()
	port := freeTCPPort(t)
	var servers strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&servers, "  server %s %s check port %d inter 300ms fall 1 rise 1\n", n.name, n.httpAddr(), n.adminPort)
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
  option httpchk GET /readyz
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

	// A PBX that sends a reply to one contact only (Asterisk): a node
	// that does not hold the chat forwards it to the one that does; the
	// same MESSAGE reaching both (a fork and a forward) is shown once.
	var other *clusterNode
	for _, n := range nodes {
		if n != holder {
			other = n
			break
		}
	}
	code, err := tb.SendMessageDirect(ctx, other.sipAddr(t), "alice", "frontdesk", "direct-1", 1, "reply to one contact")
	if err != nil || code != 200 {
		t.Errorf("reply sent to a node that does not hold the chat: %d %v, want 200", code, err)
	}
	got = append(got, v.chatTexts("the forwarded reply", 1)...)
	for _, n := range []*clusterNode{holder, other} {
		code, err := tb.SendMessageDirect(ctx, n.sipAddr(t), "alice", "frontdesk", "direct-2", 1, "one reply, two copies")
		if err != nil || code != 200 {
			t.Errorf("copy of one MESSAGE to %s: %d %v, want 200", n.name, code, err)
		}
	}
	got = append(got, v.chatTexts("the reply sent twice", 1)...)
	v.quiet("a copy is not shown again", 500*time.Millisecond, func(m map[string]any) bool { return m["mt"] == "ChatMessage" })
	seen = v.lastSeq()

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
	code = agentReply(t, send, "second reply")
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
	if want := []string{"first reply", "reply to one contact", "one reply, two copies", "second reply", "third reply"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("the visitor saw %q, want %q", got, want)
	}
}

// reconnectVia opens a new visitor session through the load balancer,
// trying again for a few seconds as the widget does while the balancer
// still sends to a node that is stopping.
func reconnectVia(t *testing.T, g *gatewayProc, lb string) *visitor {
	t.Helper()
	deadline := time.Now().Add(updateLimit)
	for {
		conn, _, err := websocket.DefaultDialer.Dial("ws://"+lb+"/ws", http.Header{"Origin": {e2eOrigin}})
		if err == nil {
			return g.visitor(conn)
		}
		if time.Now().After(deadline) {
			t.Fatalf("reconnect via %s: %v", lb, err)
		}
		time.Sleep(100 * time.Millisecond)
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

// chatVisitor is a visitor with an open chat that follows it across
// reconnects, recording every agent text it is shown.
type chatVisitor struct {
	t       *testing.T
	name    string
	v       *visitor
	token   string
	texts   []string
	resumes int
}

// pump reads what has arrived (acknowledging texts) and reports whether
// the websocket closed.
func (c *chatVisitor) pump() (closed bool) {
	for {
		select {
		case m, ok := <-c.v.msgs:
			if !ok {
				return true
			}
			c.note(m)
		default:
			return false
		}
	}
}

func (c *chatVisitor) note(m map[string]any) {
	if m["mt"] == "ChatMessage" {
		c.texts = append(c.texts, m["text"].(string))
		c.v.send(fmt.Sprintf(`{"mt":"ChatAck","seq":%d}`, uint64(m["seq"].(float64))))
	}
}

// await waits (bounded) until text was shown.
func (c *chatVisitor) await(text string) {
	c.t.Helper()
	deadline := time.After(updateLimit)
	for !slicesContains(c.texts, text) {
		select {
		case m, ok := <-c.v.msgs:
			if !ok {
				c.t.Fatalf("%s: websocket closed waiting for %q", c.name, text)
			}
			c.note(m)
		case <-deadline:
			c.t.Fatalf("%s: %q not shown within %v (shown: %q)", c.name, text, updateLimit, c.texts)
		}
	}
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// resume reconnects through lb and resumes the chat with the last number
// shown.
func (c *chatVisitor) resume(g *gatewayProc, lb string) {
	c.t.Helper()
	c.v = reconnectVia(c.t, g, lb)
	c.v.start(e2eWidget)
	c.v.send(fmt.Sprintf(`{"mt":"ChatResume","token":%q,"seq":%d}`, c.token, len(c.texts)))
	m, _ := c.v.waitFor(c.name+" resumed", updateLimit, func(m map[string]any) bool {
		if m["mt"] == "ChatMessage" {
			c.note(m)
		}
		return m["mt"] == "ChatOpened" || m["mt"] == "Error"
	})
	if m["resumed"] != true {
		c.t.Fatalf("%s: resume: %v", c.name, m)
	}
	c.resumes++
}

// TestClusterRollingRestart: every node in turn drains (SIGTERM) and comes
// back while two visitors chat through HAProxy: each reconnects when its
// node goes, resumes on another, and sees every reply once.
func TestClusterRollingRestart(t *testing.T) {
	tb, ns := startClusterTestbed(t)
	body := "chat:\n  resume_grace: 30s\n  send_timeout: 2s\n" + clusterWidgets
	nodes := startClusterNodes(t, tb, ns, 3, "", "", body)
	lb := startClusterHAProxy(t, nodes)
	ctx := ctxT(t, 4*time.Minute)

	var chats []*chatVisitor
	for _, agent := range []string{"alice", "bob"} {
		c := &chatVisitor{t: t, name: "visitor of " + agent, v: reconnectVia(t, nodes[0].g, lb)}
		if _, infos := c.v.start(e2eWidget); infos[agent]["presence"] != "online" {
			c.v.waitFor(agent+" online", updateLimit, infoOf(agent, "online"))
		}
		c.v.send(`{"mt":"ChatOpen","dest":"` + agent + `","dn":"Visitor"}`)
		opened, _ := c.v.waitFor("chat opened", updateLimit, func(m map[string]any) bool { return m["mt"] == "ChatOpened" })
		c.token = opened["token"].(string)
		chats = append(chats, c)
		waitUntil(t, agent+"'s new-chat notice accepted", updateLimit, func() bool {
			for _, n := range nodes {
				for _, l := range n.g.logLines() {
					if l["msg"] == "chat notice accepted" && l["agent"] == agent+"@frontdesk.test" {
						return true
					}
				}
			}
			return false
		})
	}
	agents := []string{"alice", "bob"}
	reply := func(i int, text string) {
		t.Helper()
		code, err := tb.SendMessageAs(ctx, agents[i], agents[i]+"-pw", "frontdesk", "text/plain", []byte(text))
		if err != nil || code != 200 {
			t.Errorf("%s's reply %q: %d %v, want 200", agents[i], text, code, err)
		}
	}
	var want [2][]string
	for round, n := range nodes {
		n.g.stop(syscall.SIGTERM)
		for i, c := range chats {
			if c.pump() {
				c.resume(nodes[(round+1)%len(nodes)].g, lb)
			}
			text := fmt.Sprintf("%s, round %d", agents[i], round+1)
			reply(i, text)
			want[i] = append(want[i], text)
			c.await(text)
		}
		n.start(t)
	}
	for i, c := range chats {
		c.v.quiet("nothing twice", time.Second, func(m map[string]any) bool {
			c.note(m)
			return false
		})
		if strings.Join(c.texts, "|") != strings.Join(want[i], "|") {
			t.Errorf("%s saw %q, want %q", c.name, c.texts, want[i])
		}
		// Every node went once, so every visitor's node went at least once.
		if c.resumes < 1 {
			t.Errorf("%s never had to resume", c.name)
		}
		t.Logf("%s: resumed %d times on other nodes, saw %q", c.name, c.resumes, c.texts)
	}
}
