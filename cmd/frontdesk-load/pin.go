package main

// Pinning for side-by-side runs: the system under test gets one core of its
// own, this tool (visitors), Kamailio and the far end share the others, so
// the CPU a system uses is not taken from the load that measures it.

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinning says which CPUs go where; the zero value pins nothing.
type pinning struct {
	system int   // CPU of the system under test, -1 for none
	tool   []int // CPUs of this process and the children it starts unpinned
}

var noPinning = pinning{system: -1}

// measureNice is the nice value of a pinned run's processes.
const measureNice = -10

// pinSystemApart gives the first allowed CPU to the system under test and
// moves every thread of this process to the others (children started later
// inherit that). Go's scheduler is told how many CPUs it has left. The
// threads also get a higher scheduling priority (measureNice), inherited
// by the children as well, so other work on a shared host yields to the
// measurement and disturbs both systems of a comparison alike.
func pinSystemApart() (pinning, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return noPinning, fmt.Errorf("read CPU affinity: %w", err)
	}
	var cpus []int
	for c := range 1024 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return noPinning, fmt.Errorf("pinning needs at least 2 CPUs, this process may use %v", cpus)
	}
	p := pinning{system: cpus[0], tool: cpus[1:]}
	var tool unix.CPUSet
	for _, c := range p.tool {
		tool.Set(c)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return noPinning, fmt.Errorf("list threads: %w", err)
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &tool); err != nil {
			return noPinning, fmt.Errorf("pin thread %d to CPUs %v: %w", tid, p.tool, err)
		}
		// Best effort: without the privilege the run is only less shielded.
		_ = unix.Setpriority(unix.PRIO_PROCESS, tid, measureNice)
	}
	runtime.GOMAXPROCS(len(p.tool))
	return p, nil
}

// pinnedCommand runs name pinned to cpu with taskset (which execs it, so
// the PID is the program's), or plainly when cpu < 0.
func pinnedCommand(cpu int, name string, args ...string) *exec.Cmd {
	if cpu < 0 {
		return exec.Command(name, args...)
	}
	return exec.Command("taskset", append([]string{"-c", strconv.Itoa(cpu), name}, args...)...)
}
