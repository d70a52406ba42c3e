package directory

import (
	"context"
	"sync"
)

// SecretsCache keeps a value parsed from secrets, such as a signing
// keyring, until this Directory next writes a secret. A key rotation made
// through the admin socket then takes effect at once, while requests in
// between do not decrypt and parse the keys again.
type SecretsCache[T any] struct {
	dir   *Directory
	parse func(context.Context, *Directory) (T, error)

	mu     sync.Mutex
	loaded bool
	gen    uint64
	val    T
}

// NewSecretsCache returns a cache that fills itself with parse.
func NewSecretsCache[T any](d *Directory, parse func(context.Context, *Directory) (T, error)) *SecretsCache[T] {
	return &SecretsCache[T]{dir: d, parse: parse}
}

// Load returns the cached value, parsing it again if a secret was written
// since it was last parsed. A failed parse is not cached.
func (c *SecretsCache[T]) Load(ctx context.Context) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Read before parsing: a write during the parse then forces another.
	gen := c.dir.SecretsGeneration()
	if c.loaded && gen == c.gen {
		return c.val, nil
	}
	v, err := c.parse(ctx, c.dir)
	if err != nil {
		var zero T
		return zero, err
	}
	c.loaded, c.gen, c.val = true, gen, v
	return v, nil
}
