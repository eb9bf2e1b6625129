//go:build integration

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp/kb"
)

// formConfig is statesConfig's sidebar with a form that asks everything:
// a name, an email and a topic chosen from a list, all required.
func formConfig(pbx, site string) string {
	return strings.Replace(statesConfig(pbx, site), "    always_show: true\n",
		"    always_show: true\n    form: {name: required, email: required, topic: required, topics: [Orders, Returns]}\n    send_page_url: full\n", 1)
}

// TestBrowserContactForm: the pre-contact form in Chromium, by keyboard
// alone: every field is reached with Tab, a wrong or missing answer is
// said on its field (and read out with it), axe-core finds nothing serious
// in either state, and the answers reach the agent in the chat's first
// message with the page the visitor is on.
func TestBrowserContactForm(t *testing.T) {
	env := startFlowsEnvWith(t, formConfig, 4)
	w := statesWidget
	alice := env.tbAgent("alice")
	tb := env.newTab(t)
	tb.setViewport(1280, 800, false)
	tb.open(env, "/states?product=kettle", w)
	tb.injectAxe()
	tb.click(w, ".tab")
	tb.waitAttr(w, "open", "1")
	tb.flowWaitJS("alice available", fmt.Sprintf(`fd(%q).querySelector(%q).getAttribute('data-presence') === 'online'`, w, cardSel("alice")))
	tb.clickAction(w, "alice", "chat")
	tb.waitAttr(w, "view", "name")

	// The name field has the focus; the others follow in order.
	var fields []string
	tb.eval(fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('.form .fld')).filter(shown).map((l) => l.firstChild.textContent.trim() + '=' + l.querySelector('input,select').tagName + (l.querySelector('input,select').required ? '*' : ''))`, w), &fields)
	if strings.Join(fields, "|") != "Your name=INPUT*|Your email=INPUT*|Topic=SELECT*" {
		t.Errorf("form fields %q", fields)
	}
	tb.flowWaitJS("the name field has the focus", `(() => { const a = deepFocus(); return !!a && a.autocomplete === 'name'; })()`)
	tb.typeText("Vera Visitor")
	tb.press(kb.Tab)
	if f := tb.focusedVisibly(); !strings.HasPrefix(f, w+"|INPUT:") {
		t.Errorf("after the name: focus on %s, want the email field", f)
	}
	tb.typeText("vera@")
	tb.press(kb.Enter)
	// Wrong: the email is marked with its reason and has the focus; the
	// missing topic says so too; nothing was sent.
	tb.flowWaitJS("the email marked", `(() => { const a = deepFocus(); return !!a && a.type === 'email' && a.getAttribute('aria-invalid') === 'true'; })()`)
	var errs []string
	tb.eval(fmt.Sprintf(`Array.from(fd(%q).querySelectorAll('[aria-invalid=true]')).map((n) => n.autocomplete + ': ' + fd(%q).getElementById(n.getAttribute('aria-describedby')).textContent)`, w, w), &errs)
	if strings.Join(errs, "|") != "email: Please enter a valid email address.|: Please fill in this field." {
		t.Errorf("errors shown %q", errs)
	}
	if v := tb.hostAttr(w, "chat"); v != "idle" {
		t.Errorf("chat %q after a wrong form, want idle", v)
	}
	tb.axe("contact form, errors")
	tb.screenshots("form-errors")

	tb.typeText("example.com")
	tb.press(kb.Tab)
	tb.press(kb.ArrowDown) // the topic: Orders
	tb.flowWaitJS("a topic chosen", `deepFocus().tagName === 'SELECT' && deepFocus().value === 'Orders'`)
	tb.axe("contact form")
	tb.screenshots("form")
	tb.press(kb.Tab)
	if f := tb.focusedVisibly(); f != w+"|btn pri:Start" {
		t.Errorf("after the topic: focus on %s, want Start", f)
	}
	tb.press(kb.Enter)
	tb.flowWaitJS("chat open", fmt.Sprintf(`fdHost(%q).getAttribute('data-frontdesk-chat') === 'open'`, w))
	notice := waitAgentMessage(t, alice, "New chat from").Body
	page := env.site.URL + "/states?product=kettle"
	for _, want := range []string{"“Vera Visitor” via Example shop.", "Email: vera@example.com", "Topic: “Orders”", "Page: " + page} {
		if !strings.Contains(notice, want) {
			t.Errorf("the agent's new-chat notice lacks %q:\n%s", want, notice)
		}
	}

	// The next contact of the tab does not ask again.
	tb.click(w, tb.flowButton(w, ".chatv", "End chat"))
	tb.waitAttr(w, "chat", "ended")
	tb.click(w, tb.flowButton(w, ".chatv", "Close"))
	tb.waitAttr(w, "view", "home")
	tb.clickAction(w, "dora", "chat")
	tb.flowWaitJS("chat with dora opening", fmt.Sprintf(`['opening', 'open'].includes(fdHost(%q).getAttribute('data-frontdesk-chat'))`, w))
	if v := tb.hostAttr(w, "view"); v != "chat" {
		t.Errorf("view %q for the second chat, want chat at once", v)
	}
	tb.flowPageClean()
}
