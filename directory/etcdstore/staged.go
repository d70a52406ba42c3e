package etcdstore

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
)

// importingKey marks, in the meta bucket, a staged change being written
// in chunks; its value names the file that holds the whole change.
const importingKey = "importing"

// Staged reports the file of a staged change whose writing was stopped
// before it finished ("" when none was).
func (s *Store) Staged() string {
	v, ok := s.snap.Load().tree.Get(markerBucket + "\x00" + importingKey)
	if !ok {
		return ""
	}
	return string(v)
}

// Stage runs change, which may be far larger than one etcd transaction
// (an LDIF import), all or nothing on a bbolt copy of the mirror at one
// revision, and saves the records it put and deleted to the file path.
// ApplyStaged then writes them into the keyspace. Nothing reaches the
// cluster when change fails.
func (s *Store) Stage(ctx context.Context, path string, change func(directory.Store) error) (records int, err error) {
	if err := s.Sync(ctx); err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".stage-")
	if err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	defer os.RemoveAll(dir)
	b, err := boltstore.Open(filepath.Join(dir, "atrium.db"), 0)
	if err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	defer b.Close()
	sn := s.snap.Load()
	if err := b.Update(ctx, func(btx directory.Tx) error { return copySnapshot(sn, btx) }); err != nil {
		return 0, fmt.Errorf("stage: copy revision %d: %w", sn.rev, err)
	}
	if err := change(b); err != nil {
		return 0, err
	}
	writes, err := diff(sn, b)
	if err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	return len(writes), saveStaged(path, writes)
}

func copySnapshot(sn *snapshot, btx directory.Tx) error {
	var err error
	sn.tree.Scan(func(k string, v []byte) bool {
		bucket, key, _ := strings.Cut(k, "\x00")
		err = btx.Put(bucket, key, v)
		return err == nil
	})
	return err
}

// diff lists the writes that turn sn into the records of b.
func diff(sn *snapshot, b *boltstore.Store) ([]chunkWrite, error) {
	var writes []chunkWrite
	seen := map[string]bool{}
	err := b.Each(func(bucket, key string, v []byte) error {
		k := bucket + "\x00" + key
		seen[k] = true
		if old, ok := sn.tree.Get(k); !ok || !bytes.Equal(old, v) {
			writes = append(writes, chunkWrite{bucket: bucket, key: key, value: bytes.Clone(v)})
		}
		return nil
	})
	sn.tree.Scan(func(k string, _ []byte) bool {
		if !seen[k] {
			bucket, key, _ := strings.Cut(k, "\x00")
			writes = append(writes, chunkWrite{bucket: bucket, key: key, del: true})
		}
		return true
	})
	return writes, err
}

// stagedWrite is chunkWrite as saved to a file.
type stagedWrite struct {
	Bucket, Key string
	Value       []byte
	Delete      bool
}

// saveStaged writes the file whole or not at all.
func saveStaged(path string, writes []chunkWrite) error {
	out := make([]stagedWrite, len(writes))
	for i, w := range writes {
		out[i] = stagedWrite{w.bucket, w.key, w.value, w.del}
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(out); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("stage: %w", err)
	}
	return nil
}

// ApplyStaged writes the change Stage saved at path into the keyspace in
// transactions under etcd's limits, marked (see Staged) until the last
// one has committed, then removes the file. Each write puts a record as
// the change left it or deletes it, so when stopped at any point and run
// again it ends the same. progress, if set, hears the writes done so far.
func (s *Store) ApplyStaged(ctx context.Context, path string, progress func(int)) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("apply staged change: %w", err)
	}
	var writes []stagedWrite
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&writes); err != nil {
		return fmt.Errorf("apply staged change %s: %w", path, err)
	}
	mark := func(tx directory.Tx) error { return tx.Put(markerBucket, importingKey, []byte(path)) }
	if err := s.Update(ctx, mark); err != nil {
		return fmt.Errorf("apply staged change: mark the keyspace: %w", err)
	}
	c := &chunker{s: s, ctx: ctx, progress: progress}
	for _, w := range writes {
		if w.Bucket == markerBucket && (w.Key == importingKey || w.Key == markerKey) {
			continue
		}
		if err := c.add(w.Bucket, w.Key, w.Value, w.Delete); err != nil {
			return fmt.Errorf("apply staged change after %d writes: %w", c.done, err)
		}
	}
	if err := c.flush(); err != nil {
		return fmt.Errorf("apply staged change after %d writes: %w", c.done, err)
	}
	if err := s.Update(ctx, func(tx directory.Tx) error { return tx.Delete(markerBucket, importingKey) }); err != nil {
		return fmt.Errorf("apply staged change: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("apply staged change: %w", err)
	}
	return nil
}
