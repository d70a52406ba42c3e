package etcdstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/btree"

	"github.com/atrium-dir/atrium/directory"
)

// write is one pending change of an Update; del means delete.
type write struct {
	val []byte
	del bool
}

// tx reads snap; an Update's tx also has an overlay of its own writes,
// one entry per key, which reads see before the snapshot.
type tx struct {
	snap    *snapshot
	overlay *btree.Map[string, write]
}

func treeKey(bucket, key string) (string, error) {
	if strings.IndexByte(bucket, 0) >= 0 || bucket == "" {
		return "", fmt.Errorf("bucket name %q: %w", bucket, directory.ErrInvalid)
	}
	return bucket + "\x00" + key, nil
}

func (t *tx) Get(bucket, key string) ([]byte, error) {
	k, err := treeKey(bucket, key)
	if err != nil {
		return nil, directory.ErrNotFound
	}
	if t.overlay != nil {
		if w, ok := t.overlay.Get(k); ok {
			if w.del {
				return nil, directory.ErrNotFound
			}
			return w.val, nil
		}
	}
	if v, ok := t.snap.tree.Get(k); ok {
		return v, nil
	}
	return nil, directory.ErrNotFound
}

func (t *tx) Put(bucket, key string, value []byte) error {
	if t.overlay == nil {
		return directory.ErrReadOnly
	}
	k, err := treeKey(bucket, key)
	if err != nil {
		return err
	}
	t.overlay.Set(k, write{val: append([]byte{}, value...)})
	return nil
}

func (t *tx) Delete(bucket, key string) error {
	if t.overlay == nil {
		return directory.ErrReadOnly
	}
	k, err := treeKey(bucket, key)
	if err != nil {
		return err
	}
	t.overlay.Set(k, write{del: true})
	return nil
}

// pending is an overlay entry a Scan merges with the snapshot.
type pending struct {
	key string
	w   write
}

// Scan walks the snapshot and the overlay (as it stood when the scan
// began) together, in key order, the overlay winning on equal keys.
func (t *tx) Scan(bucket, prefix, after string, fn func(string, []byte) error) error {
	base, err := treeKey(bucket, "")
	if err != nil {
		return nil
	}
	full, start, skip := base+prefix, base+prefix, ""
	if after != "" && after >= prefix {
		start, skip = base+after, base+after
	}
	inRange := func(k string) bool { return strings.HasPrefix(k, full) }
	var ov []pending
	if t.overlay != nil {
		t.overlay.Ascend(start, func(k string, w write) bool {
			if !inRange(k) {
				return false
			}
			if k != skip {
				ov = append(ov, pending{k, w})
			}
			return true
		})
	}
	emit := func(k string, v []byte) error { return fn(k[len(base):], v) }
	err = t.mergeScan(start, skip, inRange, ov, emit)
	if errors.Is(err, directory.ErrStop) {
		return nil
	}
	return err
}

func (t *tx) mergeScan(start, skip string, inRange func(string) bool, ov []pending, emit func(string, []byte) error) error {
	i := 0
	flush := func(upTo string, all bool) error {
		for ; i < len(ov) && (all || ov[i].key < upTo); i++ {
			if !ov[i].w.del {
				if err := emit(ov[i].key, ov[i].w.val); err != nil {
					return err
				}
			}
		}
		return nil
	}
	it := t.snap.tree.Iter()
	for ok := it.Seek(start); ok && inRange(it.Key()); ok = it.Next() {
		k := it.Key()
		if k == skip {
			continue
		}
		if err := flush(k, false); err != nil {
			return err
		}
		if i < len(ov) && ov[i].key == k {
			i++
			if ov[i-1].w.del {
				continue
			}
			if err := emit(k, ov[i-1].w.val); err != nil {
				return err
			}
			continue
		}
		if err := emit(k, it.Value()); err != nil {
			return err
		}
	}
	return flush("", true)
}
