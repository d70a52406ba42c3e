package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/internal/progress"
)

// restore installs a backup as the store of a data directory. The file is
// checked first (a bbolt file with an Atrium schema), a directory that
// already holds a store is only replaced with --force, and the new store
// is moved into place in one rename.
func restore(cfg Config, inv *invocation, stdout io.Writer) error {
	src := inv.args[0]
	if err := checkBackup(src); err != nil {
		return fmt.Errorf("restore: %s is not a usable backup: %w", src, err)
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return err
	}
	dst := filepath.Join(cfg.Data, "atrium.db")
	if _, err := os.Stat(dst); err == nil {
		if _, force := inv.flags["force"]; !force {
			return fmt.Errorf("restore: %s already holds a store; add --force to replace it", cfg.Data)
		}
	}
	tmp := dst + ".restore"
	if err := copyFile(src, tmp, progress.ForTerminal(os.Stderr, "restore", "MB")); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "Restored %s into %s\n", src, cfg.Data)
	if _, err := os.Stat(filepath.Join(cfg.Data, "secret.key")); err != nil {
		fmt.Fprintln(stdout, "Note: copy secret.key from the old data directory too, or sealed secrets (signing keys, TOTP seeds) cannot be read.")
	}
	return nil
}

func checkBackup(path string) error {
	s, err := boltstore.Open(path, time.Second)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		return err
	}
	return s.View(context.Background(), func(tx directory.Tx) error {
		if _, err := tx.Get("meta", "schema"); err != nil {
			return fmt.Errorf("no Atrium schema version: %w", err)
		}
		return nil
	})
}

func copyFile(src, dst string, bar *progress.Bar) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	var size int64
	if info, err := in.Stat(); err == nil {
		size = info.Size()
	}
	defer bar.Finish()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(&countingWriter{w: out, bar: bar, total: size}, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// configCheck prints every configuration problem, or the effective
// configuration.
func configCheck(inv *invocation, stdout io.Writer) error {
	cfg, err := inv.config()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if problems := cfg.Validate(); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stdout, "problem:", p)
		}
		return fmt.Errorf("configuration has %d problem(s)", len(problems))
	}
	if inv.json {
		return printJSON(stdout, cfg)
	}
	fmt.Fprintln(stdout, "configuration OK")
	return printYAML(stdout, cfg)
}
