package boltstore

import (
	bolt "go.etcd.io/bbolt"
)

// Each calls fn for every record of every bucket, in one read
// transaction, bucket by bucket in byte order, for copying the store into
// another engine. Values are only valid during the call.
func (s *Store) Each(fn func(bucket, key string, value []byte) error) error {
	return s.db.View(func(btx *bolt.Tx) error {
		return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				if v == nil {
					return nil // Atrium nests no buckets
				}
				return fn(string(name), string(k), v)
			})
		})
	})
}
