package password

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Workers runs this process's argon2 hashes and {CRYPT} checks in child
// processes of the same executable at idle CPU priority, so that on a busy
// CPU the kernel runs the server's requests first and hashes in the time
// left, and the memory of each hash is the child's, not the server's.
//
// Tasks reach a worker over a pipe, the password among them: it never
// appears in a command line, the environment or a log. At most
// SetConcurrency's number of tasks run at once, each in a worker of its
// own; idle workers wait for the next task. A worker that cannot start or
// dies is replaced once; if that fails too, the task runs in this process
// and workers are tried again after a pause. A task never fails because of
// its worker.
type Workers struct {
	exe  string
	log  *slog.Logger
	now  func() time.Time
	mu   sync.Mutex
	idle []*worker
	live map[*worker]struct{}
	// downUntil is when to try starting workers again after they failed.
	downUntil time.Time
	closed    bool
}

// workerRetry is how long tasks run in the server after workers failed
// twice in a row, before workers are tried again.
const workerRetry = 30 * time.Second

// workers is the pool in use, if any.
var workers atomic.Pointer[Workers]

// StartWorkers sends every later hash and verification of this process to
// worker processes, until Close. A server calls it once at start-up;
// short commands do not need it. Workers start when the first task comes.
func StartWorkers(log *slog.Logger) *Workers {
	if log == nil {
		log = slog.Default()
	}
	w := &Workers{log: log, now: time.Now, live: map[*worker]struct{}{}}
	w.exe, _ = selfExe()
	workers.Store(w)
	return w
}

// Close ends the idle workers, and each busy one when its task is done;
// later tasks run in this process.
func (w *Workers) Close() {
	workers.CompareAndSwap(w, nil)
	w.mu.Lock()
	w.closed = true
	idle := w.idle
	w.idle = nil
	w.mu.Unlock()
	for _, c := range idle {
		w.drop(c)
	}
}

var errWorkersDown = errors.New("password workers unavailable")

// do runs t in a worker, or here when no worker can.
func (w *Workers) do(t *task) outcome {
	for attempt := range 2 {
		c, err := w.get()
		if errors.Is(err, errWorkersDown) {
			break
		}
		if err == nil {
			var o outcome
			if o, err = c.call(t); err == nil {
				w.put(c)
				return o
			}
			w.drop(c)
		}
		if attempt == 0 {
			w.log.Warn("password worker failed; starting another", "err", err)
			continue
		}
		w.mu.Lock()
		w.downUntil = w.now().Add(workerRetry)
		w.mu.Unlock()
		w.log.Warn("password workers failed twice; hashing in the server process for a while", "retry_in", workerRetry, "err", err)
	}
	return t.run()
}

// get returns an idle worker, or starts one.
func (w *Workers) get() (*worker, error) {
	w.mu.Lock()
	if w.closed || w.now().Before(w.downUntil) {
		w.mu.Unlock()
		return nil, errWorkersDown
	}
	if n := len(w.idle); n > 0 {
		c := w.idle[n-1]
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		return c, nil
	}
	w.mu.Unlock()
	c, err := startWorker(w.exe)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		c.stop()
		return nil, errWorkersDown
	}
	w.live[c] = struct{}{}
	return c, nil
}

// put keeps c for the next task, unless as many workers as tasks may run
// at once are idle already.
func (w *Workers) put(c *worker) {
	w.mu.Lock()
	if !w.closed && len(w.idle) < cap(*limit.Load()) {
		w.idle = append(w.idle, c)
		w.mu.Unlock()
		return
	}
	w.mu.Unlock()
	w.drop(c)
}

func (w *Workers) drop(c *worker) {
	w.mu.Lock()
	delete(w.live, c)
	w.mu.Unlock()
	c.stop()
}

// worker is one child process and its pipes.
type worker struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  io.ReadCloser
	enc  *gob.Encoder
	dec  *gob.Decoder
	once sync.Once
}

// startWorker starts exe as a worker. Its environment holds only the
// marker and the Go runtime's settings, none of the server's.
func startWorker(exe string) (*worker, error) {
	cmd := &exec.Cmd{Path: exe, Args: []string{workerName}, Stderr: os.Stderr}
	cmd.Env = []string{workerEnv + "=1"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GO") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start password worker: %w", err)
	}
	return &worker{cmd: cmd, in: in, out: out, enc: gob.NewEncoder(in), dec: gob.NewDecoder(out)}, nil
}

// call runs t in the worker. If the worker dies, its end of the pipes
// closes and call returns the error at once.
func (c *worker) call(t *task) (outcome, error) {
	var o outcome
	if err := c.enc.Encode(t); err != nil {
		return o, fmt.Errorf("password worker %d: send: %w", c.cmd.Process.Pid, err)
	}
	if err := c.dec.Decode(&o); err != nil {
		return o, fmt.Errorf("password worker %d: receive: %w", c.cmd.Process.Pid, err)
	}
	return o, nil
}

// stop ends the worker and reaps it; a task running in it fails.
func (c *worker) stop() {
	c.once.Do(func() {
		c.in.Close()
		c.cmd.Process.Kill()
		c.cmd.Wait()
	})
}
