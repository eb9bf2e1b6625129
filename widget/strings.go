package widget

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/frontdesk-gw/frontdesk/config"
)

//go:embed i18n/*.json
var i18nFS embed.FS

// fallbackLang is the language every other one is completed from.
const fallbackLang = "en"

// catalog holds the UI strings shipped with the gateway, per language.
type catalog map[string]map[string]string

// loadCatalog reads the embedded translations. A missing key in a language
// falls back to English, so a partial translation never shows a blank button.
func loadCatalog() (catalog, error) {
	entries, err := i18nFS.ReadDir("i18n")
	if err != nil {
		return nil, fmt.Errorf("read translations: %w", err)
	}
	c := catalog{}
	for _, e := range entries {
		data, err := i18nFS.ReadFile(path.Join("i18n", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read translation %s: %w", e.Name(), err)
		}
		var m map[string]string
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("parse translation %s: %w", e.Name(), err)
		}
		c[strings.TrimSuffix(e.Name(), ".json")] = m
	}
	en, ok := c[fallbackLang]
	if !ok {
		return nil, fmt.Errorf("translations: %s.json missing", fallbackLang)
	}
	for lang, m := range c {
		for k, v := range en {
			if _, ok := m[k]; !ok {
				m[k] = v
			}
		}
		c[lang] = m
	}
	return c, nil
}

// languages lists the shipped languages, sorted.
func (c catalog) languages() []string {
	out := make([]string, 0, len(c))
	for l := range c {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// pickLang chooses the session language: the first of the visitor's
// preferences that the gateway ships or the widget overrides, else the
// widget's default language.
func (c catalog) pickLang(w *config.Widget, prefs []string) string {
	for _, p := range prefs {
		l := strings.ToLower(p)
		if i := strings.IndexAny(l, "-_"); i > 0 {
			l = l[:i]
		}
		if _, ok := c[l]; ok {
			return l
		}
		if _, ok := w.Strings[l]; ok {
			return l
		}
	}
	return w.Lang
}

// strings returns the UI strings for lang with the widget's overrides applied.
func (c catalog) strings(w *config.Widget, lang string) map[string]string {
	base, ok := c[lang]
	if !ok {
		base = c[fallbackLang]
	}
	out := make(map[string]string, len(base)+len(w.Strings[lang]))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range w.Strings[lang] {
		out[k] = v
	}
	return out
}
