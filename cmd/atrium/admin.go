package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

const socketName = "admin.sock"

// adminRequest is a subcommand forwarded to a running server.
type adminRequest struct {
	Command   string              `json:"command"`
	Args      []string            `json:"args"`
	Flags     map[string]string   `json:"flags"`
	Multi     map[string][]string `json:"multi"`
	JSON      bool                `json:"json"`
	Password  string              `json:"password,omitempty"`
	Generated bool                `json:"generated,omitempty"`
}

type adminResponse struct {
	Output string `json:"output"`
	Code   int    `json:"code"`
	Error  string `json:"error,omitempty"`
}

// remoteError is a failure the server reported, with its exit code.
type remoteError struct {
	code int
	msg  string
}

func (e remoteError) Error() string { return e.msg }

// execute runs a subcommand through a running server when one answers on
// the admin socket, and on the store directly otherwise.
func execute(ctx context.Context, inv *invocation, stdout io.Writer) error {
	cfg, err := inv.config()
	if err != nil {
		return err
	}
	sock := filepath.Join(cfg.Data, socketName)
	if client, ok := dialAdmin(sock); ok {
		if inv.cmd.name == "restore" {
			return errors.New("restore: a server is running on this data directory; stop it first, then restore into it (or restore into a fresh directory)")
		}
		return forward(ctx, client, inv, stdout)
	}
	if inv.cmd.name == "restore" && cfg.Store.Kind == storeEtcd {
		return restoreEtcd(ctx, cfg, inv, stdout)
	}
	if inv.cmd.name == "restore" {
		return restore(cfg, inv, stdout)
	}
	return withLocalDirectory(ctx, cfg, func(d *directory.Directory) error {
		return inv.cmd.fn(&env{ctx: ctx, dir: d, out: stdout, inv: inv, cfg: cfg, progress: os.Stderr})
	})
}

// dialAdmin returns an HTTP client on the admin socket if a server answers.
func dialAdmin(sock string) (*http.Client, bool) {
	if _, err := os.Stat(sock); err != nil {
		return nil, false
	}
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return nil, false
	}
	c.Close()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}, true
}

func forward(ctx context.Context, client *http.Client, inv *invocation, stdout io.Writer) error {
	args := append([]string(nil), inv.args...)
	if fileArgument[inv.cmd.name] {
		// The server resolves paths from its own directory.
		abs, err := filepath.Abs(args[0])
		if err != nil {
			return err
		}
		args[0] = abs
	}
	flags := maps.Clone(inv.flags)
	if m, ok := flags["metadata"]; ok && !strings.Contains(m, "://") {
		abs, err := filepath.Abs(m)
		if err != nil {
			return err
		}
		flags["metadata"] = abs
	}
	body, _ := json.Marshal(adminRequest{Command: inv.cmd.name, Args: args, Flags: flags, Multi: inv.multi, JSON: inv.json, Password: inv.password, Generated: inv.generated})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://atrium/run", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	defer resp.Body.Close()
	var out adminResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	io.WriteString(stdout, out.Output)
	if out.Code != exitOK {
		return remoteError{out.Code, out.Error}
	}
	return nil
}

var fileArgument = map[string]bool{"backup": true, "import": true, "export": true}

// adminHandler runs forwarded subcommands on the server's directory.
func adminHandler(cfg Config, d *directory.Directory, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /run", func(w http.ResponseWriter, r *http.Request) {
		var req adminRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var cmd *command
		for _, c := range commands {
			if c.name == req.Command && c.fn != nil {
				cmd = c
			}
		}
		var out bytes.Buffer
		var resp adminResponse
		if cmd == nil {
			resp.Code, resp.Error = exitUsage, "unknown command "+req.Command
		} else {
			inv := &invocation{cmd: cmd, args: req.Args, flags: req.Flags, multi: req.Multi, json: req.JSON, password: req.Password, generated: req.Generated}
			err := cmd.fn(&env{ctx: r.Context(), dir: d, out: &out, inv: inv, cfg: cfg})
			resp.Code, resp.Error = exitCode(err)
			log.Info("admin command", "command", req.Command, "code", resp.Code)
		}
		resp.Output = out.String()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
	})
	return mux
}

// listenAdmin opens DATA/admin.sock, readable by the owner only.
func listenAdmin(dataDir string) (net.Listener, error) {
	sock := filepath.Join(dataDir, socketName)
	if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("another server already answers on %s", sock)
	}
	os.Remove(sock) // left by a server that did not stop cleanly
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// openDirectory opens the store and the directory of cfg.
func openDirectory(ctx context.Context, cfg Config, lockWait time.Duration, log *slog.Logger, hooks ...func(*directory.Options)) (*directory.Directory, directory.Store, error) {
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	key, err := directory.LoadOrCreateSecretKey(filepath.Join(cfg.Data, "secret.key"))
	if err != nil {
		return nil, nil, err
	}
	s, beforeMigrate, err := openStore(ctx, cfg, lockWait, log)
	if err != nil {
		return nil, nil, err
	}
	opt := directory.Options{
		Logger:    log,
		Samba:     cfg.Samba.Enabled,
		SecretKey: key,
		// The run-time settings the configuration sets; the rest come
		// from the store, where the console and `settings set` put them.
		Fixed: cfg.fixedSettings(),
		// Before an upgrade, not after: a failed migration leaves the
		// store as it was, and the copy is of that.
		BeforeMigrate:      beforeMigrate,
		RequireFreshLogins: cfg.Store.Etcd.RequireFreshLogins,
		// New hashes use the configured cost; older ones are redone at the
		// user's next login.
		PasswordParams: cfg.passwordParams(),
		Backoff: directory.BackoffConfig{
			AddressFreeFailures: cfg.Backoff.AddressFreeFailures, AddressMaxBlock: cfg.Backoff.AddressMaxBlock,
			AccountFailures: cfg.Backoff.AccountFailures, AccountLock: cfg.Backoff.AccountLock, Window: cfg.Backoff.Window,
		},
	}
	if os.Getenv("ATRIUM_TEST_FAST_HASH") == "1" {
		// Test suites only: cheap argon2id so tests do not spend seconds hashing.
		opt.PasswordParams = password.TestParams
	}
	if cfg.Password.RefusedFile != "" {
		if opt.RefusedPasswords, err = directory.ReadPasswordList(cfg.Password.RefusedFile); err != nil {
			s.Close()
			return nil, nil, err
		}
	}
	password.SetConcurrency(cfg.Password.Concurrency)
	for _, h := range hooks {
		h(&opt)
	}
	d, err := directory.New(ctx, s, opt)
	if err == nil {
		err = checkSharedKey(ctx, cfg, d)
	}
	if err != nil {
		if d != nil {
			d.Close()
		}
		s.Close()
		return nil, nil, err
	}
	return d, s, nil
}

func withLocalDirectory(ctx context.Context, cfg Config, fn func(*directory.Directory) error) error {
	d, s, err := openDirectory(ctx, cfg, 500*time.Millisecond, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if b, ok := s.(interface{ Sole() }); ok {
		b.Sole() // no server: an import may build a new file and swap it in
	}
	defer s.Close()
	defer d.Close()
	return fn(d)
}

// resolvePassword reads, asks for or generates the password a command
// sets, before the command runs anywhere.
func resolvePassword(inv *invocation, stdin io.Reader, stdout io.Writer) error {
	if _, ok := inv.flags["password-stdin"]; ok {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read password: %w", err)
		}
		inv.password = strings.TrimRight(line, "\r\n")
		if inv.password == "" {
			return usagef("--password-stdin: no password on standard input")
		}
		return nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(os.Stderr, "New password: ")
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return err
		}
		fmt.Fprint(os.Stderr, "Repeat it: ")
		second, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return err
		}
		if string(first) != string(second) {
			return usagef("the two passwords differ")
		}
		inv.password = string(first)
		return nil
	}
	inv.password, inv.generated = password.Generate(24), true
	return nil
}
