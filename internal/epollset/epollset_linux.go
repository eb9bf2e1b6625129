package epollset

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Inodes returns the inodes of the files in the epoll set epfd (in) and in
// every other epoll set of this process (others), read from
// /proc/self/fdinfo of each eventpoll descriptor ("ino:" in hex). Pass
// epfd -1 to get every set's files in others.
func Inodes(epfd int) (in, others map[uint64]bool, err error) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, nil, fmt.Errorf("list descriptors: %w", err)
	}
	in, others = map[uint64]bool{}, map[uint64]bool{}
	for _, e := range fds {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || target != "anon_inode:[eventpoll]" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		set := others
		if e.Name() == strconv.Itoa(epfd) {
			set = in
		}
		for _, field := range strings.Fields(string(info)) {
			if hex, ok := strings.CutPrefix(field, "ino:"); ok && hex != "" {
				if v, err := strconv.ParseUint(hex, 16, 64); err == nil {
					set[v] = true
				}
			}
		}
	}
	return in, others, nil
}
