//go:build integration

package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

func TestBrowserZExplore(t *testing.T) {
	env := startBrowserEnv(t)
	ctx := ctxT(t, 3*time.Minute)
	tb := env.newTab(t)
	tb.open(env, "/both", cardsWidget, sidebarWidget)
	tb.clickAction(cardsWidget, "alice", "call")
	tb.waitAttr(cardsWidget, "view", "name")
	tb.run("type", 5*time.Second, chromedpSendKeys("Vera Visitor"))
	tb.press(kb.Enter)
	for i := 0; i < 40; i++ {
		t.Logf("call=%s reason=%s", tb.hostAttr(cardsWidget, "call"), tb.hostAttr(cardsWidget, "call-reason"))
		if tb.hostAttr(cardsWidget, "call") == "ringing" {
			if err := env.tbAgent("alice").Accept(ctx); err != nil {
				t.Log(err)
			}
		}
		if s := tb.hostAttr(cardsWidget, "call"); s == "connected" || s == "ended" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	t.Logf("console: %v", tb.logs())
	env.gw.mu.Lock()
	for _, l := range env.gw.logs {
		if fmt.Sprint(l["msg"]) != "" && (fmt.Sprint(l["session"]) != "<nil>" || fmt.Sprint(l["call"]) != "<nil>") {
			t.Logf("gw: %v", l)
		}
	}
	env.gw.mu.Unlock()
	var st any
	tb.eval(fmt.Sprintf(`[fd(%q).querySelector('.cst').textContent, fd(%q).querySelector('.tmr').textContent, Frontdesk.get(%q).state()]`, cardsWidget, cardsWidget, cardsWidget), &st)
	t.Logf("%v", st)
	tb.screenshot("tmp/call.png")
	tb.click(cardsWidget, ".rb.end")
	tb.waitAttr(cardsWidget, "call", "ended")
	t.Logf("reason=%s", tb.hostAttr(cardsWidget, "call-reason"))
	tb.screenshot("tmp/call-ended.png")
	tb.click(cardsWidget, ".callv .btn.pri")
	tb.waitAttr(cardsWidget, "view", "home")
	t.Logf("storage %s", tb.storageUsed())
	// chat
	tb.clickAction(cardsWidget, "bob", "chat")
	for i := 0; i < 20; i++ {
		t.Logf("chat=%s reason=%s", tb.hostAttr(cardsWidget, "chat"), tb.hostAttr(cardsWidget, "chat-reason"))
		if s := tb.hostAttr(cardsWidget, "chat"); s == "open" || s == "ended" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	tb.run("type", 5*time.Second, chromedpSendKeys("Hello, do you ship to Austria?"))
	tb.press(kb.Enter)
	time.Sleep(3 * time.Second)
	tb.screenshot("tmp/chat.png")
	t.Logf("storage %s", tb.storageUsed())
	t.Logf("logs %v", tb.logs())
}

func chromedpSendKeys(s string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(s) }
