package password

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// selfExe is the running executable, even if its file has been replaced
// by an upgrade since it started.
func selfExe() (string, error) { return "/proc/self/exe", nil }

// runIdle puts every thread of this process under SCHED_IDLE, or at nice
// 19 where the kernel refuses that: the kernel then runs any ordinary
// thread on the CPU, the server's requests among them, before these.
func runIdle() error {
	err := allThreads(
		func(tid int) bool {
			a, err := unix.SchedGetAttr(tid, 0)
			return err == nil && a.Policy == unix.SCHED_IDLE
		},
		func(tid int) error {
			return unix.SchedSetAttr(tid, &unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}, 0)
		})
	if err == nil {
		return nil
	}
	nice := allThreads(
		func(tid int) bool {
			p, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
			return err == nil && 20-p >= 19
		},
		func(tid int) error { return unix.Setpriority(unix.PRIO_PROCESS, tid, 19) })
	if nice != nil {
		return fmt.Errorf("SCHED_IDLE: %w; nice 19: %w", err, nice)
	}
	return fmt.Errorf("SCHED_IDLE: %w (nice 19 instead)", err)
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
