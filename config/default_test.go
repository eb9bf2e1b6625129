package config

import (
	_ "embed"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

//go:embed example.yaml
var exampleYAML []byte

func TestDefault(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != "" {
		t.Errorf("Source = %q, want empty for the embedded default", c.Source)
	}
	if c.SIP.Registrar != "127.0.0.1:15060" || c.SIP.Domain != "frontdesk.test" || c.HTTP.Listen != "127.0.0.1:8080" {
		t.Errorf("unexpected demo sip/http: %+v %+v", c.SIP, c.HTTP)
	}
	sidebar, cards := c.Widget("5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f"), c.Widget("0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0")
	if sidebar == nil || sidebar.Type != WidgetSidebar || cards == nil || cards.Type != WidgetCards {
		t.Fatalf("demo widgets missing: %+v", c.Widgets)
	}
	modes := map[Mode]int{}
	for _, a := range cards.Agents {
		modes[a.Mode]++
	}
	if modes[ModePresence] != 3 || modes[ModeBoolean] != 1 || modes[ModeAlways] != 1 || modes[ModeInactive] != 1 {
		t.Errorf("cards agents by mode = %v, want 3 presence and one of each other mode", modes)
	}
	wantMonitored := []Monitored{
		{URI: "sip:alice@frontdesk.test", Presence: true, Dialog: true},
		{URI: "sip:bob@frontdesk.test", Presence: true, Dialog: true},
		{URI: "sip:carol@frontdesk.test", Presence: true, Dialog: true},
		{URI: "sip:daytime@frontdesk.test", Presence: true},
	}
	if got := c.Monitored(); !reflect.DeepEqual(got, wantMonitored) {
		t.Errorf("Monitored = %+v\nwant %+v", got, wantMonitored)
	}
}

// TestExample keeps the documented example valid, equal to the built-in
// demo, and covering every key of the schema.
func TestExample(t *testing.T) {
	ex, warns, err := Parse("example.yaml", exampleYAML, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Msg, "inline password") {
		t.Errorf("warnings = %v, want only the inline password one", warns)
	}
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if ch := Diff(def, ex); !ch.Empty() {
		t.Errorf("example.yaml differs from default.yaml: %+v", ch)
	}
	for _, key := range yamlKeys(reflect.TypeFor[Config](), map[reflect.Type]bool{}) {
		re := regexp.MustCompile(`(?m)^\s*(#\s*)?(-\s+)?` + regexp.QuoteMeta(key) + `:`)
		if !re.Match(exampleYAML) {
			t.Errorf("example.yaml does not show key %q", key)
		}
	}
}

// yamlKeys lists the yaml names of t's fields and of the structs it holds.
func yamlKeys(t reflect.Type, seen map[reflect.Type]bool) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] || t == durationType || t == rateType {
		return nil
	}
	seen[t] = true
	_, names := fields(t)
	keys := names
	for i := range t.NumField() {
		keys = append(keys, yamlKeys(t.Field(i).Type, seen)...)
	}
	return keys
}

func TestNewWidgetYAML(t *testing.T) {
	hex32 := regexp.MustCompile(`(?m)^  - id: ([0-9a-f]{32})$`)
	ids := map[string]bool{}
	for _, typ := range []WidgetType{WidgetSidebar, WidgetCards, WidgetUnknown} {
		stanza := NewWidgetYAML(typ)
		m := hex32.FindStringSubmatch(stanza)
		if m == nil {
			t.Fatalf("stanza for %q has no 32-hex id:\n%s", typ, stanza)
		}
		if ids[m[1]] {
			t.Errorf("id %s repeated", m[1])
		}
		ids[m[1]] = true
		doc := string(DefaultYAML()) + stanza
		c, _ := mustParse(t, doc, "")
		w := c.Widget(m[1])
		if w == nil {
			t.Fatalf("pasted widget %s not found", m[1])
		}
		wantType := typ
		if typ == WidgetUnknown {
			wantType = WidgetSidebar
		}
		if w.Type != wantType || len(w.Agents) != 1 || w.Agents[0].URI != "sip:alice@frontdesk.test" {
			t.Errorf("pasted widget = %+v", w)
		}
	}
}
