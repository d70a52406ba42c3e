package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/etcdstore"
	"github.com/atrium-dir/atrium/ldif"
)

// An import into etcd would be one transaction far over etcd's limits
// (128 operations). It runs instead on a bbolt copy of the cluster, all
// or nothing as on a single node, and the records it changed are then
// written into the cluster in chunks. The change waits in a file of the
// data directory until the last chunk is in, so an import stopped on the
// way is finished by running it again.

// pendingImport is the file that holds an import not yet written whole.
func pendingImport(cfg Config) string {
	return filepath.Join(cfg.Data, "import-pending"+strings.ReplaceAll(cfg.Store.Etcd.Prefix, "/", "-"))
}

// importInto runs an import on e's directory, or on etcd as above.
func importInto(e *env, run func(*directory.Directory) (ldif.Report, error)) (ldif.Report, error) {
	if e.cfg.Store.Kind != storeEtcd {
		return run(e.dir)
	}
	node, err := openEtcd(e.ctx, e.cfg.Store.Etcd, slog.New(slog.DiscardHandler))
	if err != nil {
		return ldif.Report{}, err
	}
	defer node.Close()
	key, err := directory.LoadOrCreateSecretKey(filepath.Join(e.cfg.Data, "secret.key"))
	if err != nil {
		return ldif.Report{}, err
	}
	var rep ldif.Report
	_, err = node.Stage(e.ctx, pendingImport(e.cfg), func(s directory.Store) error {
		d, err := directory.New(e.ctx, s, directory.Options{SecretKey: key, Samba: e.cfg.Samba.Enabled, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		defer d.Close()
		rep, err = run(d)
		return err
	})
	if err != nil {
		return ldif.Report{}, err
	}
	return rep, applyImport(e, node.Store)
}

// finishImport writes an import an earlier run left unfinished, and says
// whether there was one.
func finishImport(e *env) (bool, error) {
	if e.cfg.Store.Kind != storeEtcd {
		return false, nil
	}
	node, err := openEtcd(e.ctx, e.cfg.Store.Etcd, slog.New(slog.DiscardHandler))
	if err != nil {
		return false, err
	}
	defer node.Close()
	_, statErr := os.Stat(pendingImport(e.cfg))
	staged := node.Staged()
	switch {
	case statErr == nil:
	case staged == "":
		return false, nil
	case errors.Is(statErr, os.ErrNotExist):
		return true, fmt.Errorf("import: an import into etcd prefix %s was stopped before it finished; run it again on the node that holds %s", e.cfg.Store.Etcd.Prefix, staged)
	default:
		return true, fmt.Errorf("import: %w", statErr)
	}
	fmt.Fprintln(e.out, "Finishing an earlier import that did not complete; the file given was not read. Run the import again if it was another file.")
	if err := applyImport(e, node.Store); err != nil {
		return true, err
	}
	fmt.Fprintln(e.out, "The earlier import is complete.")
	return true, nil
}

func applyImport(e *env, s *etcdstore.Store) error {
	last := time.Now()
	err := s.ApplyStaged(e.ctx, pendingImport(e.cfg), func(n int) {
		if time.Since(last) > 2*time.Second {
			fmt.Fprintf(e.out, "%d records written into etcd\n", n)
			last = time.Now()
		}
	})
	if err != nil {
		return fmt.Errorf("import: %w; run the same command again to finish it", err)
	}
	return nil
}
