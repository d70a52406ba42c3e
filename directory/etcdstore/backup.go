package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
)

// Backup writes one snapshot of the mirror to w as a bbolt file, the same
// format a single node keeps, so `atrium restore` reads it. The file is
// built in a temporary directory first.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := s.usable(ctx); err != nil {
		return 0, err
	}
	// The mirror may trail the cluster by a watch delivery: take every
	// commit made before the backup began, or, without a quorum, what
	// this node has.
	if err := s.Sync(ctx); errors.Is(err, ErrUnavailable) {
		s.log.Warn("backup: etcd cluster unavailable; writing this node's copy", "rev", s.snap.Load().rev, "err", err)
	} else if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	dir, err := os.MkdirTemp("", "atrium-backup-")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(dir)
	b, err := boltstore.Open(filepath.Join(dir, "atrium.db"), 0)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer b.Close()
	sn := s.snap.Load()
	err = b.Update(ctx, func(btx directory.Tx) error { return copySnapshot(sn, btx) })
	if err != nil {
		return 0, fmt.Errorf("backup: copy revision %d: %w", sn.rev, err)
	}
	return b.Backup(ctx, w)
}
