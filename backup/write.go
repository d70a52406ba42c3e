package backup

import (
	"context"
	"fmt"
	"io"

	"github.com/atrium-dir/atrium/internal/atomicfile"
)

// Source is what can write a consistent copy of itself while in use: a
// directory.Directory or a directory.Store.
type Source interface {
	Backup(ctx context.Context, w io.Writer) (int64, error)
}

// WriteFile writes a copy of src to path (mode 0600) so that path holds
// either its old contents or the whole new copy, never part of one.
func WriteFile(ctx context.Context, path string, src Source) (int64, error) {
	var n int64
	err := atomicfile.Write(path, 0o600, func(w io.Writer) error {
		var err error
		n, err = src.Backup(ctx, w)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}
