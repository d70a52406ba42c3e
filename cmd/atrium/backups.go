package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/atrium-dir/atrium/backup"
	"github.com/atrium-dir/atrium/directory"
)

// backupVerify checks a backup file on its own, without a data directory
// or a server: it is what an admin runs on a copy before trusting it.
func backupVerify(ctx context.Context, inv *invocation, stdout io.Writer) error {
	path := inv.args[0]
	problems, err := backup.Verify(ctx, path)
	if err != nil {
		return fmt.Errorf("backup verify: %w", err)
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, "problem:", p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("backup verify: %s has %d problem(s); do not restore it", path, len(problems))
	}
	fmt.Fprintf(stdout, "%s: every record and index checks out\n", path)
	return nil
}

// scheduledBackups runs the backup schedule of cfg until ctx ends; it does
// nothing when backup.dir is not set.
func scheduledBackups(ctx context.Context, cfg Config, d *directory.Directory, log *slog.Logger) {
	if cfg.Backup.Dir == "" {
		return
	}
	s := &backup.Schedule{Dir: cfg.Backup.Dir, Every: cfg.Backup.Every, Keep: cfg.Backup.Keep, Source: d, Log: log, Now: d.Now}
	s.Run(ctx)
}
