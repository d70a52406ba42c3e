package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/atrium-dir/atrium/backup"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
)

// backupBeforeMigrate is directory.Options.BeforeMigrate for a store on
// disk: it copies the old file aside, as atrium.db.schema-N.bak next to
// it, so that an upgrade gone wrong can be undone by stopping the new
// release and putting that file back.
func backupBeforeMigrate(s *boltstore.Store, log *slog.Logger) func(context.Context, int) error {
	return func(ctx context.Context, from int) error {
		path := fmt.Sprintf("%s.schema-%d.bak", s.Path(), from)
		if _, err := backup.WriteFile(ctx, path, s); err != nil {
			return err
		}
		log.Warn("database upgrade: the old database is copied aside; keep it until the new release has proved itself",
			"from_schema", from, "to_schema", directory.SchemaVersion, "backup", path)
		return nil
	}
}
