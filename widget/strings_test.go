package widget

import (
	"encoding/json"
	"path"
	"regexp"
	"slices"
	"testing"
)

// TestTranslationsComplete: every shipped language has every English key,
// with the same {placeholders}, so no visitor sees English in the middle of
// their language or a raw {seconds}.
func TestTranslationsComplete(t *testing.T) {
	entries, err := i18nFS.ReadDir("i18n")
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) map[string]string {
		data, err := i18nFS.ReadFile(path.Join("i18n", name))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}
	en := read("en.json")
	placeholder := regexp.MustCompile(`\{\w+\}`)
	holes := func(s string) []string {
		h := placeholder.FindAllString(s, -1)
		slices.Sort(h)
		return h
	}
	if len(entries) != 18 {
		t.Errorf("%d languages shipped, want 18", len(entries))
	}
	for _, e := range entries {
		m := read(e.Name())
		for k, v := range en {
			tr, ok := m[k]
			if !ok || tr == "" {
				t.Errorf("%s lacks %q", e.Name(), k)
				continue
			}
			if !slices.Equal(holes(tr), holes(v)) {
				t.Errorf("%s %q has placeholders %v, English %v", e.Name(), k, holes(tr), holes(v))
			}
		}
	}
}
