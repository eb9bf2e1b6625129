package config

import "testing"

func TestWatcherEventFilter(t *testing.T) {
	w := NewWatcher("/etc/frontdesk/frontdesk.yaml", nil, 0)
	for name, want := range map[string]bool{
		"/etc/frontdesk/frontdesk.yaml":        true,
		"/etc/frontdesk/..data":                true, // Kubernetes ConfigMap swap
		"/etc/frontdesk/..2026_11_26_07_00_00": true,
		"/etc/frontdesk/frontdesk.log":         false, // a log next to the config must not wake the watcher
		"/etc/frontdesk/.frontdesk.yaml.swp":   false,
		"/etc/frontdesk/frontdesk.yaml~":       false,
	} {
		if got := w.relevant(name); got != want {
			t.Errorf("relevant(%q) = %v, want %v", name, got, want)
		}
	}
}
