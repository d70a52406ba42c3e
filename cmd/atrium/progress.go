package main

import (
	"context"
	"io"

	"github.com/atrium-dir/atrium/backup"
	"github.com/atrium-dir/atrium/internal/progress"
)

// countingReader counts the bytes read through it, for an import's
// progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// countingWriter shows the megabytes written through it on bar, out of
// total bytes.
type countingWriter struct {
	w     io.Writer
	bar   *progress.Bar
	n     int64
	total int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.bar.Update(c.n>>20, float64(c.n)/float64(max(c.total, 1)))
	return n, err
}

// barSource shows a backup's progress on bar, out of total bytes.
type barSource struct {
	src   backup.Source
	bar   *progress.Bar
	total int64
}

func (b barSource) Backup(ctx context.Context, w io.Writer) (int64, error) {
	return b.src.Backup(ctx, &countingWriter{w: w, bar: b.bar, total: b.total})
}
