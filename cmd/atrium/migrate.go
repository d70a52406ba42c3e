package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/etcdstore"
)

// migrateStore copies DATA/atrium.db into the etcd cluster the store
// flags name: `atrium migrate --to etcd --etcd-endpoints ...`.
func migrateStore(ctx context.Context, inv *invocation, stdout io.Writer) error {
	if to := inv.flags["to"]; to != storeEtcd {
		return usagef("migrate: --to etcd is the only target (got %q)", to)
	}
	cfg, err := inv.config()
	if err != nil {
		return err
	}
	cfg.Store.Kind = storeEtcd
	if p := cfg.Store.problems(); len(p) > 0 {
		return usagef("migrate: %s", p[0])
	}
	src, err := boltstore.Open(filepath.Join(cfg.Data, "atrium.db"), 500*time.Millisecond)
	if err != nil {
		return fmt.Errorf("migrate: open %s: %w", cfg.Data, err)
	}
	defer src.Close()
	if schema, err := directory.StoredSchema(ctx, src); err != nil || schema == 0 {
		return fmt.Errorf("migrate: %s holds no Atrium directory to copy", filepath.Join(cfg.Data, "atrium.db"))
	}
	_, force := inv.flags["force"]
	if err := copyIntoEtcd(ctx, cfg, src.Each, force, stdout); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintf(stdout, "Every node needs this directory's secret key: copy %s into the data directory of each node.\n", filepath.Join(cfg.Data, "secret.key"))
	return nil
}

// restoreEtcd installs a backup file as the cluster's directory. Stop
// every node first: a node that runs meanwhile sees the copy half done.
func restoreEtcd(ctx context.Context, cfg Config, inv *invocation, stdout io.Writer) error {
	path := inv.args[0]
	if err := checkBackup(path); err != nil {
		return fmt.Errorf("restore: %s is not a usable backup: %w", path, err)
	}
	src, err := boltstore.Open(path, time.Second)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer src.Close()
	_, force := inv.flags["force"]
	if err := copyIntoEtcd(ctx, cfg, src.Each, force, stdout); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "Restored %s into etcd prefix %s\n", path, cfg.Store.Etcd.Prefix)
	return nil
}

// copyIntoEtcd replaces the cluster's keyspace with src. A keyspace that
// holds a directory already is only replaced with force, unless it is
// the unfinished copy of an earlier run, which this run finishes.
func copyIntoEtcd(ctx context.Context, cfg Config, src etcdstore.Source, force bool, stdout io.Writer) error {
	node, err := openEtcd(ctx, cfg.Store.Etcd, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer node.Close()
	if schema, err := directory.StoredSchema(ctx, node); err != nil {
		return err
	} else if schema != 0 && !node.Incomplete() && !force {
		return fmt.Errorf("etcd prefix %s already holds a directory; add --force to replace it", cfg.Store.Etcd.Prefix)
	}
	if node.Incomplete() {
		fmt.Fprintln(stdout, "Finishing an earlier copy that did not complete.")
	}
	last := time.Now()
	err = node.Replace(ctx, src, func(n int) {
		if time.Since(last) > 2*time.Second {
			fmt.Fprintf(stdout, "%d records copied\n", n)
			last = time.Now()
		}
	})
	if err != nil {
		return fmt.Errorf("%w; run the same command again to finish the copy", err)
	}
	fmt.Fprintf(stdout, "Copied the directory into etcd (%s, prefix %s).\n", cfg.Store.Etcd.Endpoints[0], cfg.Store.Etcd.Prefix)
	return nil
}

// errIncomplete is a node refusing a half-copied cluster.
func errIncomplete(prefix string) error {
	return fmt.Errorf("etcd prefix %s: %w; run 'atrium migrate --to etcd' (or the restore) again to finish it", prefix, etcdstore.ErrIncomplete)
}
