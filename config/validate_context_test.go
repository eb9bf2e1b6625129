package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestContactContextDefaults(t *testing.T) {
	c, _, err := Parse("f.yaml", []byte(featuresBase), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := c.Widgets[0]
	if want := (Form{Name: FormRequired, Email: FormOff, Topic: FormOff}); !reflect.DeepEqual(w.Form, want) {
		t.Errorf("form = %+v, want %+v", w.Form, want)
	}
	if w.SendPageURL != PageURLPath || w.AlertInfo != "" {
		t.Errorf("send_page_url %q, alert_info %q; want path and none", w.SendPageURL, w.AlertInfo)
	}
	withTopics := strings.Replace(featuresBase, "    type: cards\n", "    type: cards\n    form: {topics: [Orders, Returns]}\n    alert_info: \"<http://pbx.example.com/ring2.wav>;info=alert-external\"\n", 1)
	c, _, err = Parse("f.yaml", []byte(withTopics), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Widgets[0].Form; f.Topic != FormOptional || len(f.Topics) != 2 {
		t.Errorf("form with topics = %+v, want the topic optional", f)
	}
}

func TestContactContextProblems(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"form field", "    form: {email: yes}\n", "f.yaml:5: widgets[0].form.email: \"yes\" is not one of off, optional, required"},
		{"topics with the topic off", "    form: {topic: off, topics: [Orders]}\n", "widgets[0].form.topics: are only shown with topic optional or required"},
		{"empty topic", "    form: {topics: [Orders, \"\"]}\n", "widgets[0].form.topics[1]: must be one line of 1 to 60 characters"},
		{"long topic", "    form: {topics: [" + strings.Repeat("x", 61) + "]}\n", "widgets[0].form.topics[0]: must be one line"},
		{"topic with a newline", "    form: {topics: [\"Orders\\nX-Evil: 1\"]}\n", "widgets[0].form.topics[0]: must be one line"},
		{"topic twice", "    form: {topics: [Orders, Orders]}\n", "widgets[0].form.topics[1]: \"Orders\" is listed twice"},
		{"page url", "    send_page_url: yes\n", "widgets[0].send_page_url: \"yes\" is not one of path, full, off"},
		{"alert info without brackets", "    alert_info: urn:alert:service:normal\n", "widgets[0].alert_info: \"urn:alert:service:normal\" is not an Alert-Info value"},
		{"alert info with CRLF", "    alert_info: \"<urn:alert:x>\\r\\nContact: <sip:evil@example.com>\"\n", "widgets[0].alert_info:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(featuresBase, "    type: cards\n", "    type: cards\n"+tt.yaml, 1)
			_, _, err := Parse("f.yaml", []byte(doc), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestAfterContactProblems(t *testing.T) {
	widget := func(extra string) string {
		return strings.Replace(featuresBase, "    type: cards\n", "    type: cards\n"+extra, 1)
	}
	tests := []struct{ name, doc, want string }{
		{"rating without a webhook", widget("    rating: true\n"), "widgets[0].rating: needs fallback.webhook"},
		{"transcript without smtp", widget("    transcript: true\n"), "widgets[0].transcript: needs the smtp section"},
		{"smtp without host", featuresBase + "smtp: {from: a@example.com}\n", "smtp.host is required"},
		{"smtp sender", featuresBase + "smtp: {host: mail.example.com, from: \"nobody\"}\n", "smtp.from: \"nobody\" is not a sender"},
		{"smtp port", featuresBase + "smtp: {host: mail.example.com, from: a@example.com, port: 70000}\n", "smtp.port: 70000 is not a port"},
		{"password in the clear", featuresBase + "smtp: {host: mail.example.com, from: a@example.com, user: u, password_env: HOME, require_tls: false}\n", "smtp.require_tls: must stay true with a user"},
		{"user without password", featuresBase + "smtp: {host: mail.example.com, from: a@example.com, user: u}\n", "smtp.user: user and password_env must be set together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse("f.yaml", []byte(tt.doc), t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	c, _, err := Parse("f.yaml", []byte(featuresBase+"smtp: {host: mail.example.com, from: \"Shop <shop@example.com>\"}\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if s := c.SMTP; s.Port != 587 || !s.TLSRequired() || s.From != `"Shop" <shop@example.com>` {
		t.Errorf("smtp defaults %+v", s)
	}
	if c.Limits.Transcripts != DefaultTranscriptRates {
		t.Errorf("limits.transcripts %+v", c.Limits.Transcripts)
	}
}
