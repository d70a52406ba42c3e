package password

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// selfExe is the running executable, even if its file has been replaced
// by an upgrade since it started.
func selfExe() (string, error) { return "/proc/self/exe", nil }

// runIdle lowers every thread of this process to nice Nice.
func runIdle() error {
	return allThreads(AtWorkerPriority, func(tid int) error { return unix.Setpriority(unix.PRIO_PROCESS, tid, Nice) })
}

// Nice is the workers' nice value. The kernel then gives the server's
// threads (nice 0) about nine tenths of a busy core, and runs them first
// when they wake, so searches go on beside the hashes; yet a hash still
// gets its share, about a tenth beside one busy process, and finishes
// when other programs keep the CPU busy. (SCHED_IDLE, tried first, gave
// it about 0.3%: with a media server transcoding on the same box, or a
// loaded test machine, a first login's hash never came back.)
const Nice = 10

// AtWorkerPriority reports whether thread tid runs at the workers'
// priority or lower.
func AtWorkerPriority(tid int) bool {
	p, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	return err == nil && 20-p >= Nice
}

// allThreads applies set to each thread of the process that is not yet
// done. Threads started later inherit the priority of the thread that
// starts them, so it is finished when one pass finds nothing to change.
func allThreads(done func(tid int) bool, set func(tid int) error) error {
	for changed := true; changed; {
		changed = false
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		for _, e := range tasks {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || done(tid) {
				continue
			}
			changed = true
			if err := set(tid); err != nil && !errors.Is(err, unix.ESRCH) { // ESRCH: the thread ended
				return err
			}
		}
	}
	return nil
}
