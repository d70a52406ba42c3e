package backup

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Source is what can write a consistent copy of itself while in use: a
// directory.Directory or a directory.Store.
type Source interface {
	Backup(ctx context.Context, w io.Writer) (int64, error)
}

// WriteFile writes a copy of src to path (mode 0600) through a temporary
// file in the same directory that is synced and then renamed, so path
// holds either its old contents or the whole new copy, never part of one.
func WriteFile(ctx context.Context, path string, src Source) (int64, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, fmt.Errorf("backup %s: %w", path, err)
	}
	tmp := f.Name()
	n, err := src.Backup(ctx, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("backup %s: %w", path, err)
	}
	return n, syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
