package password

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// logBuffer is a log the test reads after the workers wrote to it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startTestWorkers starts workers for the test's length, logging to the
// returned buffer.
func startTestWorkers(t *testing.T) (*Workers, *logBuffer) {
	t.Helper()
	var log logBuffer
	w := StartWorkers(slog.New(slog.NewTextHandler(&log, nil)))
	t.Cleanup(w.Close)
	return w, &log
}

// pids are the worker processes running now.
func (w *Workers) pids() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	var pids []int
	for c := range w.live {
		pids = append(pids, c.cmd.Process.Pid)
	}
	return pids
}

// procStatus is a field of /proc/PID/status, in kB for memory.
func procStatus(t *testing.T, pid int, field string) int {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// checkIdle fails unless every thread of pid runs at the workers' low
// priority (nice Nice).
func checkIdle(t *testing.T, pid int) {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tasks {
		tid, _ := strconv.Atoi(e.Name())
		if !AtWorkerPriority(tid) {
			t.Errorf("worker %d thread %d does not run at nice %d", pid, tid, Nice)
		}
	}
}

// TestHashesRunInIdleWorkers: with workers, a 32 MiB argon2id hash takes
// its memory in a child process running at nice 10, not in this
// one; neither the child's command line nor its environment holds the
// password; the hash and every imported scheme verify there as here.
func TestHashesRunInIdleWorkers(t *testing.T) {
	w, log := startTestWorkers(t)
	const pw = "worker-secret-horse"
	h := &Hasher{Params: Params{Memory: 32 * 1024, Time: 1, Threads: 1}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stored, err := h.Hash(pw)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("the server allocated %d MiB for a hash the worker should have computed", grew>>20)
	}
	pids := w.pids()
	if len(pids) != 1 {
		t.Fatalf("%d workers after one hash, want 1", len(pids))
	}
	pid := pids[0]
	if hwm := procStatus(t, pid, "VmHWM"); hwm < 32*1024 {
		t.Errorf("the worker's peak memory is %d KiB, less than the hash's 32 MiB", hwm)
	}
	checkIdle(t, pid)
	for _, f := range []string{"cmdline", "environ"} {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(pw)) {
			t.Errorf("the worker's %s holds the password", f)
		}
		if f == "cmdline" && string(bytes.TrimRight(raw, "\x00")) != workerName {
			t.Errorf("the worker's command line is %q, want %q", raw, workerName)
		}
	}
	if ok, err := Verify(stored, pw); !ok || err != nil {
		t.Fatalf("the worker's hash does not verify in a worker: %v %v", ok, err)
	}
	for name, stored := range vectors {
		if ok, err := Verify(stored, "correct horse"); !ok || err != nil {
			t.Errorf("%s: right password in a worker: %v %v", name, ok, err)
		}
		if ok, err := Verify(stored, "correct horsE"); ok || err != nil {
			t.Errorf("%s: wrong password in a worker: %v %v", name, ok, err)
		}
	}
	if got := w.pids(); len(got) != 1 || got[0] != pid {
		t.Errorf("workers %v after sequential tasks, want the one worker %d again", got, pid)
	}
	w.Close()
	if ok, err := Verify(stored, pw); !ok || err != nil {
		t.Fatalf("the worker's hash does not verify in this process: %v %v", ok, err)
	}
	if strings.Contains(log.String(), pw) || log.String() != "" {
		t.Errorf("the workers logged: %s", log)
	}
}

// TestBusyWorkersAreBounded: twelve hashes at once with a concurrency of
// 3 start 3 workers, never more.
func TestBusyWorkersAreBounded(t *testing.T) {
	SetConcurrency(3)
	t.Cleanup(func() { SetConcurrency(0) })
	w, _ := startTestWorkers(t)
	h := &Hasher{Params: Params{Memory: 8 * 1024, Time: 2, Threads: 1}}
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if _, err := h.Hash("correct horse"); err != nil {
				t.Error(err)
			}
		})
	}
	peak := 0
	for done := waitChan(&wg); ; {
		peak = max(peak, len(w.pids()))
		select {
		case <-done:
			if peak != 3 {
				t.Fatalf("%d workers ran at once; the limit is 3", peak)
			}
			return
		case <-time.After(time.Millisecond):
		}
	}
}

func waitChan(wg *sync.WaitGroup) <-chan struct{} {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// TestWorkerKilledMidHash: a worker killed while it hashes is replaced, and
// the hash is computed again by the new one.
func TestWorkerKilledMidHash(t *testing.T) {
	w, log := startTestWorkers(t)
	const pw = "killed-worker-horse"
	h := &Hasher{Params: Params{Memory: 16 * 1024, Time: 40, Threads: 1}}
	type result struct {
		stored string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		s, err := h.Hash(pw)
		done <- result{s, err}
	}()
	var victim int
	for victim == 0 {
		if pids := w.pids(); len(pids) == 1 {
			victim = pids[0]
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // well into the hash
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !strings.Contains(log.String(), "password worker failed; starting another") {
		t.Fatalf("the kill went unnoticed (the hash ended first?); log: %s", log)
	}
	if pids := w.pids(); len(pids) != 1 || pids[0] == victim {
		t.Errorf("workers after the kill: %v, want one other than %d", pids, victim)
	}
	w.Close()
	if ok, err := Verify(r.stored, pw); !ok || err != nil {
		t.Fatalf("the hash made after the kill does not verify: %v %v", ok, err)
	}
	if strings.Contains(log.String(), pw) {
		t.Errorf("the log holds the password: %s", log)
	}
}

// TestWorkersFallBack: when no worker can run, hashes and checks are made
// in this process with a warning, workers are not tried again at every
// task, and they are once the pause is over.
func TestWorkersFallBack(t *testing.T) {
	for name, exe := range map[string]string{"missing": "/nonexistent/atrium", "exits": "/bin/true"} {
		t.Run(name, func(t *testing.T) {
			w, log := startTestWorkers(t)
			now := time.Now()
			w.now = func() time.Time { return now }
			realExe := w.exe
			w.exe = exe
			const pw = "fallback-horse"
			h := &Hasher{Params: TestParams}
			stored, err := h.Hash(pw)
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := Verify(stored, pw); !ok || err != nil {
				t.Fatalf("hash made in this process: %v %v", ok, err)
			}
			if ok, err := Verify(vectors["bcrypt 2b"], "correct horse"); !ok || err != nil {
				t.Fatalf("bcrypt checked in this process: %v %v", ok, err)
			}
			got := log.String()
			if strings.Count(got, "level=WARN") != 2 || !strings.Contains(got, "hashing in the server process") {
				t.Errorf("want one failure, one fallback warning; log: %s", got)
			}
			if strings.Contains(got, pw) {
				t.Errorf("the log holds the password: %s", got)
			}
			w.exe = realExe
			now = now.Add(workerRetry + time.Second)
			if ok, err := Verify(stored, pw); !ok || err != nil || len(w.pids()) != 1 {
				t.Fatalf("after the pause: %v %v, workers %v", ok, err, w.pids())
			}
		})
	}
}

// TestHashesFinishOnABusyCPU: with four ordinary busy processes on the
// one CPU this process and its workers may use, as a media server
// transcoding on the same box would keep it, a hash of a few milliseconds
// of CPU still comes back within seconds. Under SCHED_IDLE the worker
// got about 0.07% of that CPU: the same hash took 89 s. The bound is ten
// times what it takes at nice 10 (2 s, most of it the worker's start).
func TestHashesFinishOnABusyCPU(t *testing.T) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		t.Fatal(err)
	}
	cpu := 0
	for !all.IsSet(cpu) {
		cpu++
	}
	var one unix.CPUSet
	one.Set(cpu)
	pinThreads(t, &one)
	t.Cleanup(func() { pinThreads(t, &all) })
	for range 4 {
		hog := exec.Command("sh", "-c", "while :; do :; done")
		if err := hog.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { hog.Process.Kill(); hog.Wait() })
		if err := unix.SchedSetaffinity(hog.Process.Pid, &one); err != nil {
			t.Fatal(err)
		}
	}
	startTestWorkers(t)
	h := &Hasher{Params: Params{Memory: 8 * 1024, Time: 1, Threads: 1}}
	began := time.Now()
	if _, err := h.Hash("busy-cpu-horse"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 20*time.Second {
		t.Errorf("a small hash beside four busy processes took %s", took)
	}
}

// pinThreads sets the CPU affinity of every thread of this process; the
// workers it starts later inherit it.
func pinThreads(t *testing.T, set *unix.CPUSet) {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tasks {
		tid, _ := strconv.Atoi(e.Name())
		if err := unix.SchedSetaffinity(tid, set); err != nil && err != unix.ESRCH {
			t.Fatal(err)
		}
	}
}
