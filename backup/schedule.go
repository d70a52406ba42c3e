package backup

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Defaults of a Schedule.
const (
	DefaultEvery = 24 * time.Hour
	DefaultKeep  = 7
)

// Scheduled backups are named by the UTC time they were taken, so that
// their names sort oldest first and tell when they were taken.
const (
	namePrefix = "atrium-"
	nameStamp  = "20060102T150405Z"
	nameSuffix = ".db"
)

// Schedule takes a backup of Source into Dir every Every while Run runs,
// and keeps the newest Keep of them. A backup already in Dir counts: after
// a restart the next one is due Every after it, not at once.
type Schedule struct {
	Dir    string
	Every  time.Duration // DefaultEvery when zero
	Keep   int           // DefaultKeep when zero
	Source Source
	Log    *slog.Logger
	// Now and After are the clock (time.Now and time.After when nil).
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// Run takes backups until ctx ends. A failed backup is logged, with the
// last one that succeeded, and tried again after an hour (or Every, if
// that is sooner).
func (s *Schedule) Run(ctx context.Context) {
	s.defaults()
	last, err := s.newest()
	switch {
	case err != nil:
		s.Log.Error("scheduled backups: cannot read the backup directory", "dir", s.Dir, "err", err)
	case last.IsZero():
		s.Log.Info("scheduled backups: none taken yet", "dir", s.Dir, "every", s.Every, "keep", s.Keep)
	default:
		s.Log.Info("scheduled backups: last successful backup", "file", s.path(last), "taken", last, "every", s.Every, "keep", s.Keep)
	}
	due := last.Add(s.Every)
	for ctx.Err() == nil {
		if wait := due.Sub(s.Now()); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-s.After(wait):
				continue
			}
		}
		if taken, err := s.takeOne(ctx); err != nil {
			s.Log.Error("scheduled backup failed", "err", err, "last_success", last)
			due = s.Now().Add(min(s.Every, time.Hour))
		} else {
			last, due = taken, taken.Add(s.Every)
		}
	}
}

func (s *Schedule) defaults() {
	if s.Every <= 0 {
		s.Every = DefaultEvery
	}
	if s.Keep <= 0 {
		s.Keep = DefaultKeep
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.After == nil {
		s.After = time.After
	}
}

// takeOne writes one backup and prunes the old ones. It returns the time
// the backup is named by.
func (s *Schedule) takeOne(ctx context.Context) (time.Time, error) {
	taken := s.Now().UTC().Truncate(time.Second)
	path := s.path(taken)
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return time.Time{}, err
	}
	n, err := WriteFile(ctx, path, s.Source)
	if err != nil {
		return time.Time{}, err
	}
	s.Log.Info("scheduled backup written; this is now the last successful backup", "file", path, "bytes", n)
	if err := s.prune(); err != nil {
		s.Log.Warn("scheduled backups: old ones not pruned", "err", err)
	}
	return taken, nil
}

func (s *Schedule) path(t time.Time) string {
	return filepath.Join(s.Dir, namePrefix+t.UTC().Format(nameStamp)+nameSuffix)
}

// taken lists the times of the backups in Dir, oldest first. Other files
// are not backups of the schedule and are left alone.
func (s *Schedule) taken() ([]time.Time, error) {
	entries, err := os.ReadDir(s.Dir)
	if os.IsNotExist(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var out []time.Time
	for _, e := range entries {
		stamp, ok := strings.CutPrefix(e.Name(), namePrefix)
		stamp, ok2 := strings.CutSuffix(stamp, nameSuffix)
		if t, err := time.Parse(nameStamp, stamp); ok && ok2 && err == nil && e.Type().IsRegular() {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out, nil
}

func (s *Schedule) newest() (time.Time, error) {
	all, err := s.taken()
	if err != nil || len(all) == 0 {
		return time.Time{}, err
	}
	return all[len(all)-1], nil
}

// prune removes all but the newest Keep backups.
func (s *Schedule) prune() error {
	all, err := s.taken()
	if err != nil {
		return err
	}
	for _, t := range all[:max(0, len(all)-s.Keep)] {
		if err := os.Remove(s.path(t)); err != nil {
			return fmt.Errorf("prune old backup: %w", err)
		}
		s.Log.Info("old backup removed", "file", s.path(t), "keep", s.Keep)
	}
	return nil
}

// Newest returns when the newest scheduled backup in dir was taken; the
// zero time when there is none.
func Newest(dir string) (time.Time, error) { return (&Schedule{Dir: dir}).newest() }
