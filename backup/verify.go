package backup

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
)

// Verify checks the backup at path: the bbolt file structure, then every
// record and index (directory.Check), after upgrading it as this release
// would on start. It works on a temporary copy, so path is only read. An
// error means the file cannot be read as a store at all; problems are
// what is wrong inside one that can.
func Verify(ctx context.Context, path string) (problems []directory.Problem, err error) {
	tmp, err := os.MkdirTemp("", "atrium-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	copyPath := filepath.Join(tmp, "atrium.db")
	if err := copyFile(path, copyPath); err != nil {
		return nil, err
	}
	// bbolt panics, or reads outside the file, on some damaged pages
	// rather than returning an error.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			problems, err = nil, fmt.Errorf("%s is damaged: %v", path, p)
		}
	}()
	s, err := boltstore.Open(copyPath, time.Second)
	if err != nil {
		return nil, fmt.Errorf("%s is not a readable store: %w", path, err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", path, err)
	}
	d, err := directory.New(ctx, s, directory.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer d.Close()
	return d.Check(ctx)
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
