package config

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watcher defaults.
const (
	DefaultDebounce     = 200 * time.Millisecond
	DefaultPollInterval = 3 * time.Second
)

// Watcher reloads a config file when it changes. It watches the file's
// directory, not the file, so that editors replacing the file by rename and
// Kubernetes ConfigMap symlink swaps are seen; a slow poll catches whatever
// file notifications miss.
type Watcher struct {
	// PollInterval is how often the file is checked without a notification
	// (default DefaultPollInterval). Set it before Run.
	PollInterval time.Duration

	path     string
	log      *slog.Logger
	debounce time.Duration

	mu       sync.Mutex
	lastErr  error
	ok, fail atomic.Uint64

	ready func() // called once Run watches; lets tests write only after that
}

// NewWatcher returns a watcher for the config file at path. debounce is how
// long the directory must be quiet before the file is read (0: DefaultDebounce).
func NewWatcher(path string, log *slog.Logger, debounce time.Duration) *Watcher {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	return &Watcher{path: path, log: log, debounce: debounce}
}

// LastError is the error of the latest reload attempt, nil after a success.
func (w *Watcher) LastError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// Reloads counts successful and failed reloads.
func (w *Watcher) Reloads() (ok, failed uint64) {
	return w.ok.Load(), w.fail.Load()
}

func (w *Watcher) setErr(err error) {
	w.mu.Lock()
	w.lastErr = err
	w.mu.Unlock()
}

// watchState is what Run's goroutine knows between checks.
type watchState struct {
	current *Config
	tried   [32]byte // digest of the bytes last parsed, good or bad
	size    int64
	mtime   time.Time
	readErr string // the last read error logged, so a missing file is logged once
}

// Run watches until ctx is done and returns nil then; it returns an error
// only when it cannot start. When the file changes and the new content
// parses, apply(old, new) is called on Run's goroutine; when it does not,
// each problem is logged, LastError reports them, and the old config stays.
// Unchanged bytes are skipped. Files the config refers to (pictures,
// password files) are read again only when the config file itself changes.
func (w *Watcher) Run(ctx context.Context, current *Config, apply func(old, new *Config)) error {
	dir := filepath.Dir(w.path)
	st := &watchState{current: current}
	if current != nil {
		st.tried = current.digest
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	fw, err := fsnotify.NewWatcher()
	if err == nil {
		err = fw.Add(dir)
		if err != nil {
			fw.Close()
		}
	}
	if err != nil {
		w.log.Warn("config: file notifications unavailable, polling only", "dir", dir, "err", err)
	} else {
		defer fw.Close()
		events, errs = fw.Events, fw.Errors
	}

	poll := w.PollInterval
	if poll <= 0 {
		poll = DefaultPollInterval
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	if w.ready != nil {
		w.ready()
	}

	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			// Only events that may change what the path resolves to count:
			// the file itself (written, or renamed over) and Kubernetes'
			// "..data" symlink swaps. Anything else in the directory — a
			// log file next to the config, say — would wake the watcher for
			// nothing, and logging it could feed itself.
			if !w.relevant(ev.Name) {
				continue
			}
			w.log.Debug("config: file event", "event", ev.String())
			debounce.Reset(w.debounce)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			w.log.Warn("config: file notification error", "err", err)
		case <-debounce.C:
			w.check(st, apply, true)
		case <-ticker.C:
			w.check(st, apply, false)
		}
	}
}

// check reads the file and reloads it if its bytes changed. Without force
// it first compares size and modification time with the previous check.
func (w *Watcher) check(st *watchState, apply func(old, new *Config), force bool) {
	info, err := os.Stat(w.path)
	if err == nil && !force && info.Size() == st.size && info.ModTime().Equal(st.mtime) {
		return
	}
	var data []byte
	if err == nil {
		data, err = readBounded(w.path, MaxFileBytes)
	}
	if err != nil {
		if err.Error() != st.readErr {
			st.readErr = err.Error()
			w.fail.Add(1)
			w.setErr(fmt.Errorf("reload config: %w", err))
			w.log.Error("config: cannot read, keeping the running config", "path", w.path, "err", err)
		}
		return
	}
	st.readErr = ""
	st.size, st.mtime = info.Size(), info.ModTime()
	sum := sha256.Sum256(data)
	if st.current != nil && sum == st.current.digest {
		st.tried = sum
		w.setErr(nil) // unchanged, or back to the running config after a bad edit
		return
	}
	if sum == st.tried {
		return
	}
	st.tried = sum
	cfg, warns, err := Parse(w.path, data, filepath.Dir(w.path))
	for _, p := range warns {
		w.log.Warn("config: warning", "problem", p.String())
	}
	if err != nil {
		w.fail.Add(1)
		w.setErr(err)
		var list Errors
		if errors.As(err, &list) {
			for _, p := range list {
				w.log.Error("config: invalid, keeping the running config", "problem", p.String())
			}
		} else {
			w.log.Error("config: invalid, keeping the running config", "err", err)
		}
		return
	}
	old := st.current
	st.current = cfg
	w.ok.Add(1)
	w.setErr(nil)
	w.log.Info("config: reloaded", "path", w.path)
	apply(old, cfg)
}

// relevant reports whether a directory event may concern the config file.
func (w *Watcher) relevant(name string) bool {
	base := filepath.Base(name)
	return base == filepath.Base(w.path) || strings.HasPrefix(base, "..")
}
