package widget

import (
	"maps"
	"sync"
)

// slots counts things in use, in total and per key (sessions per client
// address, calls per agent), against limits.
type slots struct {
	mu     sync.Mutex
	total  int
	perKey map[string]int
}

// acquire takes a slot for key unless a limit (0: none) is reached. release
// gives it back and is safe to call more than once.
func (l *slots) acquire(key string, maxTotal, maxPerKey int) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perKey == nil {
		l.perKey = map[string]int{}
	}
	if (maxTotal > 0 && l.total >= maxTotal) || (maxPerKey > 0 && l.perKey[key] >= maxPerKey) {
		return nil, false
	}
	l.total++
	l.perKey[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.perKey[key]--; l.perKey[key] <= 0 {
				delete(l.perKey, key)
			}
		})
	}, true
}

// inUse returns the number of slots taken.
func (l *slots) inUse() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

// count returns the slots taken for key.
func (l *slots) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.perKey[key]
}

// byKey returns the slots taken per key.
func (l *slots) byKey() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.perKey)
}
