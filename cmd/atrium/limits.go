package main

import (
	"fmt"
	"log/slog"
	"syscall"
)

// fileLimit raises the descriptor limit and warns when it leaves less
// than the configured LDAP connections need.
func fileLimit(cfg Config, log *slog.Logger) {
	n, err := raiseFileLimit()
	if err != nil {
		log.Warn("descriptor limit", "err", err)
		return
	}
	if want := uint64(cfg.LDAP.MaxConns) + 256; n < want {
		log.Warn("the descriptor limit is below what ldap.max_conns needs; raise it (systemd: LimitNOFILE=)", "limit", n, "want", want)
	}
}

// raiseFileLimit raises the soft limit on open descriptors to the hard
// one, so the server is refused connections only when the system, not a
// conservative default, says so. Go's os package does the same at init;
// doing it here states the intent and returns the limit for the log.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("read descriptor limit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, fmt.Errorf("raise descriptor limit to %d: %w", lim.Max, err)
		}
	}
	return lim.Cur, nil
}
