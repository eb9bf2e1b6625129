//go:build integration

package e2e

import (
	"os"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

func TestBrowserZExplore(t *testing.T) {
	env := startBrowserEnv(t)
	_ = ctxT(t, 3*time.Minute)
	tb := env.newTab(t)
	tb.open(env, "/both", cardsWidget, sidebarWidget)
	// chat
	tb.clickAction(cardsWidget, "bob", "chat")
	tb.waitAttr(cardsWidget, "view", "name")
	tb.run("type", 5*time.Second, chromedpSendKeys("Vera Visitor"))
	tb.press(kb.Enter)
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
	tb.run("reload", 20*time.Second, chromedp.Reload())
	for i := 0; i < 20; i++ {
		t.Logf("after reload chat=%s view=%s open=%s", tb.hostAttr(cardsWidget, "chat"), tb.hostAttr(cardsWidget, "view"), tb.hostAttr(cardsWidget, "open"))
		if tb.hostAttr(cardsWidget, "chat") == "open" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	var thread any
	tb.eval(`Array.from(fd("`+cardsWidget+`").querySelectorAll('.msg')).map((m) => m.textContent + '|' + m.getAttribute('data-state'))`, &thread)
	t.Logf("thread %v", thread)
	tb.click(cardsWidget, ".chatv .row .btn")
	tb.waitAttr(cardsWidget, "chat", "ended")
	t.Logf("ended reason %s storage %s", tb.hostAttr(cardsWidget, "chat-reason"), tb.storageUsed())
	tb.screenshot("tmp/chat-ended.png")
	t.Logf("logs %v", tb.logs())
	env.gw.mu.Lock()
	for _, l := range env.gw.logs {
		if m := fmt.Sprint(l["msg"]); m != "" && (fmt.Sprint(l["session"]) != "<nil>" || fmt.Sprint(l["component"]) == "chat") {
			t.Logf("gw: %v", l)
		}
	}
	env.gw.mu.Unlock()
	bob, _ := os.ReadFile(env.tbAgent("bob").LogPath())
	t.Logf("bob log tail: %s", tail(string(bob), 3000))
}

func chromedpSendKeys(s string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(s) }

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
