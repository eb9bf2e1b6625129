//go:build integration

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/frontdesk-gw/frontdesk/chat"
	"github.com/frontdesk-gw/frontdesk/internal/testbed"
	"github.com/frontdesk-gw/frontdesk/internal/testca"
)

// TestBrowserAfterTheContact: after a chat in Chromium the visitor rates it
// by keyboard (the rating reaches the webhook, signed, and
// frontdesk_ratings_total) and, ticking the consent box, has its
// transcript mailed: a real Postfix on loopback takes it only over
// STARTTLS with a certificate the gateway verifies, and delivers it.
func TestBrowserAfterTheContact(t *testing.T) {
	// The MTA: Debian's Postfix with a config of this test, a certificate
	// of a CA of this test, mail for example.com into one mbox.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil { // the postfix user reaches its queue
			t.Fatal(err)
		}
	}
	ca, err := testca.New("frontdesk test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(testca.Leaf{Names: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile := filepath.Join(dir, "mta.pem"), filepath.Join(dir, "mta.key"), filepath.Join(dir, "ca.pem")
	for f, data := range map[string][]byte{certFile: leaf.CertPEM, keyFile: leaf.KeyPEM, caFile: ca.PEM} {
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mta, err := testbed.StartPostfix(ctxT(t, time.Minute), filepath.Join(dir, "postfix"), certFile, keyFile, "example.com")
	if err != nil {
		t.Fatalf("start postfix (run testbed/install.sh): %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("postfix log:\n%s", mta.Log(40))
		}
		_ = mta.Stop()
	})

	ratings := make(chan []byte, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if chat.Sign("after-hook-secret", r.Header.Get(chat.HeaderTimestamp), body) != r.Header.Get(chat.HeaderSignature) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		ratings <- body
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)
	t.Setenv("FD_E2E_WEBHOOK", "after-hook-secret")
	config := func(pbx, site string) string {
		c := strings.Replace(statesConfig(pbx, site), "    fallback: {sip: bob}\n", fmt.Sprintf(
			"    fallback: {sip: bob, webhook: {url: %q, secret_env: FD_E2E_WEBHOOK, attempts: 2}}\n    rating: true\n    transcript: true\n", hook.URL+"/frontdesk"), 1)
		return c + fmt.Sprintf("smtp:\n  host: 127.0.0.1\n  port: %s\n  from: \"Example shop <shop@frontdesk.test>\"\n  tls_ca: %s\n",
			strings.TrimPrefix(mta.Addr(), "127.0.0.1:"), caFile)
	}
	env := startFlowsEnvWith(t, config, 4)
	w := statesWidget
	alice := env.tbAgent("alice")
	tb := env.newTab(t)
	tb.setViewport(1280, 800, false)
	tb.open(env, "/states", w)
	tb.injectAxe()
	tb.click(w, ".tab")
	tb.waitAttr(w, "open", "1")
	tb.clickAction(w, "alice", "chat")
	tb.waitAttr(w, "view", "name")
	tb.typeText("Vera Visitor")
	tb.press(kb.Enter)
	tb.flowWaitJS("chat open", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-chat') === 'open'`, w))
	tb.typeText("Hello, do you ship kettles to Austria?")
	tb.press(kb.Enter, flowRawKeyDown)
	waitAgentMessage(t, alice, "ship kettles")
	env.gw.waitTakesReplies(t, "alice@frontdesk.test", time.Now().Add(-time.Minute))
	if err := alice.SendMessage(ctxT(t, 10*time.Second), "Yes, we do: 3 days to Vienna."); err != nil {
		t.Fatal(err)
	}
	tb.flowWaitLog(w, "3 days to Vienna")
	tb.click(w, tb.flowButton(w, ".chatv", "End chat"))
	tb.waitAttr(w, "chat", "ended")

	// The rating, by keyboard: from the comment back into the stars (the
	// last one), one to the left is four.
	tb.flowWaitJS("the rating shown", fmt.Sprintf(`shown(fd(%q).querySelector('.chatv .rate legend'))`, w))
	tb.axe("after a chat")
	tb.screenshots("after-chat")
	tb.click(w, ".chatv .rate textarea")
	tb.typeText("Quick and friendly.")
	tb.press(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift))
	tb.press(kb.ArrowLeft)
	tb.flowWaitJS("four stars", fmt.Sprintf(`fd(%q).querySelectorAll('.chatv .star.on').length === 4 && deepFocus().value === '4'`, w))
	tb.click(w, tb.flowButton(w, ".chatv .rate", "Send"))
	tb.flowWaitText(w, ".chatv .rate .lst", "Thank you for your feedback.")
	var rating map[string]any
	select {
	case body := <-ratings:
		if err := json.Unmarshal(body, &rating); err != nil {
			t.Fatal(err)
		}
	case <-time.After(flowWait):
		t.Fatal("no rating reached the webhook")
	}
	if rating["type"] != "rating" || rating["score"] != 4.0 || rating["comment"] != "Quick and friendly." || rating["contact"] != "chat" ||
		rating["agent"] != "alice" || rating["widget"] != w || rating["name"] != "Vera Visitor" {
		t.Errorf("the webhook got %v", rating)
	}
	env.flowWaitMetric(t, fmt.Sprintf(`frontdesk_ratings_total{score="4",widget=%q}`, w), 1)

	// The transcript: nothing without the box ticked; with it, to the
	// address given, through Postfix.
	var early bool
	tb.eval(fmt.Sprintf(`shown(fd(%q).querySelector('.chatv .trans button'))`, w), &early)
	if early {
		t.Error("the transcript's Send shows before the visitor consented")
	}
	tb.click(w, ".chatv .chk input")
	tb.click(w, ".chatv .trans input[type=email]")
	tb.typeText("vera@example.com")
	tb.press(kb.Enter)
	tb.flowWaitText(w, ".chatv .trans .lst", "The transcript is on its way.")
	tb.axe("transcript sent")
	tb.screenshots("after-chat-sent")
	waitUntil(t, "the transcript delivered by postfix", flowWait, func() bool { return mta.Messages() == 1 })
	box, err := mta.Mailbox()
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(strings.NewReader(box[strings.Index(box, "\n")+1:]))
	if err != nil {
		t.Fatalf("read the delivered mail: %v\n%s", err, box)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	body, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if subject != "Your chat with Alice Adams – Example shop" || msg.Header.Get("To") != "vera@example.com" {
		t.Errorf("mail subject %q to %q", subject, msg.Header.Get("To"))
	}
	for _, want := range []string{"Here is the transcript of your chat on Example shop, as you asked.", "Vera Visitor: Hello, do you ship kettles to Austria?", "Alice Adams: Yes, we do: 3 days to Vienna."} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the mail lacks %q:\n%s", want, body)
		}
	}
	if !strings.Contains(box, "SMTPS id") {
		t.Errorf("the mail did not come over TLS:\n%s", box)
	}
	tb.flowPageClean()
}
