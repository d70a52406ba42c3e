package password

import (
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/GehirnInc/crypt"
	_ "github.com/GehirnInc/crypt/sha256_crypt" // registers $5$
	_ "github.com/GehirnInc/crypt/sha512_crypt" // registers $6$
	"golang.org/x/crypto/bcrypt"
)

// workerEnv marks a process as a password worker: the server's own
// executable, started by Workers with this variable set, serves tasks on
// its standard input and output instead of running as itself.
const workerEnv = "ATRIUM_PASSWORD_WORKER"

// workerName is the worker's argv[0], so that ps shows what it is.
const workerName = "atrium-password-worker"

// Task kinds: an argon2 key, or a check of a {CRYPT} (bcrypt or
// sha-crypt) hash.
const (
	taskArgon2 = iota + 1
	taskCrypt
)

// task is one expensive computation, run in a worker or, as a fallback, in
// the server itself. It holds a password: never log or print one.
type task struct {
	Kind     int
	Password []byte
	// argon2
	Variant string
	Salt    []byte
	Params  Params
	KeyLen  uint32
	// {CRYPT}, already checked by checkCrypt
	Hash string
}

// outcome is a task's result: the argon2 key, or whether the {CRYPT} hash
// matched and, if it could not be used, why (never the password).
type outcome struct {
	Key   []byte
	Match bool
	Err   string
}

func (t *task) run() outcome {
	if t.Kind == taskCrypt {
		ok, err := cryptMatch(t.Hash, t.Password)
		if err != nil {
			return outcome{Err: err.Error()}
		}
		return outcome{Match: ok}
	}
	return outcome{Key: computeArgon2(t.Variant, t.Password, t.Salt, t.Params, t.KeyLen)}
}

// cryptMatch checks pw against a bcrypt or sha-crypt hash c.
func cryptMatch(c string, pw []byte) (bool, error) {
	if isBcrypt(c) {
		err := bcrypt.CompareHashAndPassword([]byte(c), pw)
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		return err == nil, err
	}
	err := crypt.NewFromHash(c).Verify(c, pw)
	if errors.Is(err, crypt.ErrKeyMismatch) {
		return false, nil
	}
	return err == nil, err
}

// The worker gives the memory of its last hash back to the system after
// this long without a task, so idle workers stay small.
const workerReleaseAfter = 10 * time.Second

func init() {
	if os.Getenv(workerEnv) == "" {
		return
	}
	// Before any other package of the program is initialised: the worker
	// needs only this package and its dependencies.
	if err := serveWorker(os.Stdin, os.Stdout); err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintln(os.Stderr, "password worker:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serveWorker lowers the process to a low CPU priority and runs the tasks it
// reads from in, one at a time, writing each outcome to out, until in
// closes (the server ended or dropped this worker).
func serveWorker(in io.Reader, out io.Writer) error {
	if err := runIdle(); err != nil {
		// Still correct, only no longer out of the server's way.
		fmt.Fprintln(os.Stderr, "password worker: low priority refused:", err)
	}
	dec, enc := gob.NewDecoder(in), gob.NewEncoder(out)
	release := time.AfterFunc(workerReleaseAfter, debug.FreeOSMemory)
	for {
		var t task
		if err := dec.Decode(&t); err != nil {
			return err
		}
		release.Stop()
		o := t.run()
		if err := enc.Encode(&o); err != nil {
			return err
		}
		release.Reset(workerReleaseAfter)
	}
}
