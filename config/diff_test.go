package config

import (
	"reflect"
	"strings"
	"testing"
)

const cardsID = "0f1e2d3c4b5a49788796a5b4c3d2e1f0"

// diffBase is a config with two widgets; tests edit its text.
const diffBase = `sip:
  registrar: pbx.test
  username: gw
  password: x
widgets:
  - id: 5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f
    type: sidebar
    name: Sales
    agents:
      - sip: alice
      - sip: bob
        picture: bob.png
      - sip: carol
  - id: 0f1e2d3c4b5a49788796a5b4c3d2e1f0
    type: cards
    agents:
      - sip: dave
`

func TestDiff(t *testing.T) {
	dir := t.TempDir()
	writeImage(t, dir, "bob.png", "png", 2, 2)
	writeImage(t, dir, "bob2.png", "png", 3, 3)
	tests := []struct {
		name string
		edit func(string) string
		want Changes
	}{
		{
			name: "no change",
			edit: func(s string) string { return s },
			want: Changes{},
		},
		{
			name: "comments and line moves only",
			edit: func(s string) string { return "# a comment\n\n" + s },
			want: Changes{},
		},
		{
			name: "widget settings",
			edit: func(s string) string { return strings.Replace(s, "name: Sales", "name: Support", 1) },
			want: Changes{Widgets: []WidgetChange{{ID: testWidgetID, Settings: true}}},
		},
		{
			name: "agent added",
			edit: func(s string) string {
				return strings.Replace(s, "      - sip: carol\n", "      - sip: carol\n      - sip: erin\n", 1)
			},
			want: Changes{Widgets: []WidgetChange{{ID: testWidgetID, AgentsAdded: []string{"erin"}}}},
		},
		{
			name: "agent changed",
			edit: func(s string) string {
				return strings.Replace(s, "- sip: alice\n", "- sip: alice\n        mode: always\n", 1)
			},
			want: Changes{Widgets: []WidgetChange{{ID: testWidgetID, AgentsChanged: []string{"alice"}}}},
		},
		{
			name: "agent removed",
			edit: func(s string) string { return strings.Replace(s, "      - sip: alice\n", "", 1) },
			want: Changes{Widgets: []WidgetChange{{ID: testWidgetID, AgentsRemoved: []string{"alice"}}}},
		},
		{
			name: "order",
			edit: func(s string) string {
				return strings.Replace(s, "      - sip: alice\n      - sip: bob\n        picture: bob.png\n", "      - sip: bob\n        picture: bob.png\n      - sip: alice\n", 1)
			},
			want: Changes{Widgets: []WidgetChange{{ID: testWidgetID, Order: true}}},
		},
		{
			name: "picture",
			edit: func(s string) string { return strings.Replace(s, "bob.png", "bob2.png", 1) },
			want: Changes{Widgets: []WidgetChange{{ID: testWidgetID, AgentsChanged: []string{"bob"}}}},
		},
		{
			name: "widget removed and added",
			edit: func(s string) string { return strings.Replace(s, cardsID, "1f1e2d3c4b5a49788796a5b4c3d2e1f0", 1) },
			want: Changes{Widgets: []WidgetChange{
				{ID: "1f1e2d3c4b5a49788796a5b4c3d2e1f0", Added: true, AgentsAdded: []string{"dave"}},
				{ID: cardsID, Removed: true, AgentsRemoved: []string{"dave"}},
			}},
		},
		{
			name: "sections",
			edit: func(s string) string {
				return strings.Replace(s, "password: x\n", "password: y\nhttp:\n  listen: :9090\nlimits:\n  max_sessions: 10\nice:\n  stun: [\"stun:stun.test\"]\n", 1)
			},
			want: Changes{SIP: true, HTTP: true, ICE: true, Limits: true},
		},
		{
			name: "inherited origins",
			edit: func(s string) string {
				return strings.Replace(s, "password: x\n", "password: x\nhttp:\n  allowed_origins: [\"https://example.com\"]\n", 1)
			},
			want: Changes{HTTP: true, Widgets: []WidgetChange{
				{ID: testWidgetID, Settings: true}, // widgets without their own origins inherit http's
				{ID: cardsID, Settings: true},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, _ := mustParse(t, diffBase, dir)
			cur, _ := mustParse(t, tt.edit(diffBase), dir)
			got := Diff(old, cur)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff = %+v\nwant %+v", got, tt.want)
			}
			if got.Empty() != reflect.DeepEqual(tt.want, Changes{}) {
				t.Errorf("Empty() = %v for %+v", got.Empty(), got)
			}
		})
	}
}

func TestDiffPictureBytes(t *testing.T) {
	dir := t.TempDir()
	writeImage(t, dir, "bob.png", "png", 2, 2)
	old, _ := mustParse(t, diffBase, dir)
	writeImage(t, dir, "bob.png", "png", 3, 3) // same name, new picture
	cur, _ := mustParse(t, diffBase, dir)
	want := Changes{Widgets: []WidgetChange{{ID: testWidgetID, AgentsChanged: []string{"bob"}}}}
	if got := Diff(old, cur); !reflect.DeepEqual(got, want) {
		t.Errorf("Diff = %+v, want %+v", got, want)
	}
}

func TestDiffNil(t *testing.T) {
	dir := t.TempDir()
	writeImage(t, dir, "bob.png", "png", 2, 2)
	c, _ := mustParse(t, diffBase, dir)
	got := Diff(nil, c)
	if len(got.Widgets) != 2 || !got.Widgets[0].Added || !got.Widgets[1].Added || !got.SIP {
		t.Errorf("Diff(nil, c) = %+v, want both widgets added and SIP changed", got)
	}
	if got := Diff(c, nil); len(got.Widgets) != 2 || !got.Widgets[0].Removed {
		t.Errorf("Diff(c, nil) = %+v, want both widgets removed", got)
	}
}

func TestMonitored(t *testing.T) {
	yaml := `sip:
  registrar: pbx.test
  username: gw
  password: x
widgets:
  - id: 5d0c2f3e8a9b4c1d9e7f6a5b4c3d2e1f
    type: sidebar
    agents:
      - sip: bob
      - sip: sip:alice@PBX.test;transport=tcp
      - {id: night, sip: hotline, mode: boolean, boolean: daytime}
      - {sip: queue, mode: always}
      - {sip: dave, mode: inactive}
  - id: 0f1e2d3c4b5a49788796a5b4c3d2e1f0
    type: cards
    agents:
      - sip: alice@pbx.test
      - {id: day, sip: frontdesk, mode: boolean, boolean: daytime}
      - {id: bool-alice, sip: x, mode: boolean, boolean: alice}
      - {sip: erin, source: presence}
      - {sip: finn, source: dialog}
      - {id: finn-too, sip: finn, source: presence}
      - {sip: gail, source: dialog}
`
	c, _ := mustParse(t, yaml, "")
	want := []Monitored{
		{URI: "sip:alice@pbx.test", Presence: true, Dialog: true},
		{URI: "sip:bob@pbx.test", Presence: true, Dialog: true},
		{URI: "sip:daytime@pbx.test", Presence: true},
		{URI: "sip:erin@pbx.test", Presence: true},
		{URI: "sip:finn@pbx.test", Presence: true, Dialog: true},
		{URI: "sip:gail@pbx.test", Dialog: true},
	}
	if got := c.Monitored(); !reflect.DeepEqual(got, want) {
		t.Errorf("Monitored = %+v\nwant %+v", got, want)
	}
}
