package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/atrium-dir/atrium/backup"
	"github.com/atrium-dir/atrium/directory"
)

// backupBeforeMigrate is directory.Options.BeforeMigrate for a store on
// disk: it copies the old file aside, as atrium.db.schema-N.bak next to
// it, so that an upgrade gone wrong can be undone by stopping the new
// release and putting that file back.
// For an etcd cluster, base is a file in the data directory.
func backupBeforeMigrate(base string, s backup.Source, log *slog.Logger) func(context.Context, int) error {
	return func(ctx context.Context, from int) error {
		path := fmt.Sprintf("%s.schema-%d.bak", base, from)
		if _, err := backup.WriteFile(ctx, path, s); err != nil {
			return err
		}
		log.Warn("database upgrade: the old database is copied aside; keep it until the new release has proved itself",
			"from_schema", from, "to_schema", directory.SchemaVersion, "backup", path)
		return nil
	}
}
