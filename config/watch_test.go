package config

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const watchWait = 10 * time.Second

type reload struct{ old, new *Config }

// watching is one Watcher.Run in the background, stopped at test cleanup.
type watching struct {
	w       *Watcher
	applied chan reload
}

// startWatch loads path and watches it. poll 0 means "effectively never",
// so only file notifications can trigger a reload.
func startWatch(t *testing.T, path string, debounce, poll time.Duration) (*watching, *Config) {
	t.Helper()
	current, _, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if poll == 0 {
		poll = time.Hour
	}
	w := NewWatcher(path, slog.New(slog.NewTextHandler(t.Output(), nil)), debounce)
	w.PollInterval = poll
	ready := make(chan struct{})
	w.ready = func() { close(ready) }
	wt := &watching{w: w, applied: make(chan reload, 8)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- w.Run(ctx, current, func(old, new *Config) { wt.applied <- reload{old, new} })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v, want nil after cancel", err)
		}
	})
	select {
	case <-ready:
	case <-time.After(watchWait):
		t.Fatal("watcher did not start")
	}
	return wt, current
}

func (wt *watching) next(t *testing.T) reload {
	t.Helper()
	select {
	case r := <-wt.applied:
		return r
	case <-time.After(watchWait):
		t.Fatalf("no reload within %v (last error %v)", watchWait, wt.w.LastError())
		return reload{}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func watchedConfig(name string) string {
	return strings.Replace(diffBase, "name: Sales", "name: "+name, 1)
}

func setupWatchDir(t *testing.T) (dir, path string) {
	dir = t.TempDir()
	writeImage(t, dir, "bob.png", "png", 2, 2)
	path = filepath.Join(dir, "frontdesk.yaml")
	writeFile(t, path, watchedConfig("v1"))
	return dir, path
}

func TestWatcherWriteInPlace(t *testing.T) {
	_, path := setupWatchDir(t)
	wt, first := startWatch(t, path, 20*time.Millisecond, 0)
	writeFile(t, path, watchedConfig("v1")) // same bytes: no reload
	writeFile(t, path, watchedConfig("v2"))
	r := wt.next(t)
	if r.old != first || r.new.Widgets[0].Name != "v2" {
		t.Errorf("reload old=%p (want %p) new name %q (want v2)", r.old, first, r.new.Widgets[0].Name)
	}
	if ok, failed := wt.w.Reloads(); ok != 1 || failed != 0 {
		t.Errorf("Reloads = %d, %d; want 1, 0", ok, failed)
	}
}

func TestWatcherRenameOver(t *testing.T) {
	dir, path := setupWatchDir(t)
	wt, _ := startWatch(t, path, 20*time.Millisecond, 0)
	tmp := filepath.Join(dir, ".frontdesk.yaml.swp")
	writeFile(t, tmp, watchedConfig("renamed"))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if r := wt.next(t); r.new.Widgets[0].Name != "renamed" {
		t.Errorf("new name %q, want renamed", r.new.Widgets[0].Name)
	}
}

// TestWatcherSymlinkSwap replays how Kubernetes updates a mounted ConfigMap:
// the file is a symlink through ..data, and ..data is replaced by rename.
func TestWatcherSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"..v1", "..v2"} {
		if err := os.Mkdir(filepath.Join(dir, v), 0o700); err != nil {
			t.Fatal(err)
		}
		writeImage(t, filepath.Join(dir, v), "bob.png", "png", 2, 2)
		writeFile(t, filepath.Join(dir, v, "frontdesk.yaml"), watchedConfig(v))
	}
	mustSymlink(t, "..v1", filepath.Join(dir, "..data"))
	mustSymlink(t, "..data/frontdesk.yaml", filepath.Join(dir, "frontdesk.yaml"))
	mustSymlink(t, "..data/bob.png", filepath.Join(dir, "bob.png"))
	path := filepath.Join(dir, "frontdesk.yaml")
	wt, _ := startWatch(t, path, 20*time.Millisecond, 0)

	mustSymlink(t, "..v2", filepath.Join(dir, "..data_tmp"))
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if r := wt.next(t); r.new.Widgets[0].Name != "..v2" {
		t.Errorf("new name %q, want ..v2", r.new.Widgets[0].Name)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestWatcherInvalidThenValid(t *testing.T) {
	_, path := setupWatchDir(t)
	wt, first := startWatch(t, path, 20*time.Millisecond, 0)

	bad := strings.Replace(watchedConfig("v1"), "      - sip: carol\n", "      - sip: carol\n        mode: presense\n", 1)
	writeFile(t, path, bad)
	deadline := time.Now().Add(watchWait)
	for wt.w.LastError() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var list Errors
	if err := wt.w.LastError(); !errors.As(err, &list) {
		t.Fatalf("LastError = %v, want Errors", err)
	}
	want := path + `:14: widgets[0].agents[2].mode: "presense" is not one of presence, always, boolean, inactive`
	if got := wt.w.LastError().Error(); got != want {
		t.Errorf("LastError = %q, want %q", got, want)
	}
	if ok, failed := wt.w.Reloads(); ok != 0 || failed != 1 {
		t.Errorf("Reloads = %d, %d; want 0, 1", ok, failed)
	}
	select {
	case r := <-wt.applied:
		t.Fatalf("invalid config was applied: %+v", r.new)
	default:
	}

	writeFile(t, path, watchedConfig("fixed"))
	r := wt.next(t)
	if r.old != first || r.new.Widgets[0].Name != "fixed" {
		t.Errorf("recovery: old=%p (want the first config %p), new name %q", r.old, first, r.new.Widgets[0].Name)
	}
	if err := wt.w.LastError(); err != nil {
		t.Errorf("LastError after recovery = %v, want nil", err)
	}
	if ok, failed := wt.w.Reloads(); ok != 1 || failed != 1 {
		t.Errorf("Reloads = %d, %d; want 1, 1", ok, failed)
	}
}

// TestWatcherPoll disables the notification path (a debounce longer than
// the test) so only the poll can see the change.
func TestWatcherPoll(t *testing.T) {
	_, path := setupWatchDir(t)
	wt, _ := startWatch(t, path, time.Hour, 20*time.Millisecond)
	writeFile(t, path, watchedConfig("polled, longer"))
	if r := wt.next(t); r.new.Widgets[0].Name != "polled, longer" {
		t.Errorf("new name %q", r.new.Widgets[0].Name)
	}
}

func TestWatcherMissingFileKeepsConfig(t *testing.T) {
	dir, path := setupWatchDir(t)
	wt, _ := startWatch(t, path, 20*time.Millisecond, 20*time.Millisecond)
	if err := os.Rename(path, filepath.Join(dir, "moved.yaml")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(watchWait)
	for wt.w.LastError() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := wt.w.LastError(); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LastError = %v, want a not-exist error", err)
	}
	time.Sleep(5 * 20 * time.Millisecond) // several polls of the missing file
	if _, failed := wt.w.Reloads(); failed != 1 {
		t.Errorf("failed = %d, want 1 however often the missing file is checked", failed)
	}
	writeFile(t, path, watchedConfig("back"))
	if r := wt.next(t); r.new.Widgets[0].Name != "back" {
		t.Errorf("new name %q, want back", r.new.Widgets[0].Name)
	}
}
