package directory_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// The cache parses once, and again only after a secret is written.
func TestSecretsCacheReloadsAfterASecretWrite(t *testing.T) {
	ctx := context.Background()
	key, err := directory.LoadOrCreateSecretKey(filepath.Join(t.TempDir(), "secret.key"))
	must(t, err)
	s := openStore(t, filepath.Join(t.TempDir(), "atrium.db"))
	t.Cleanup(func() { s.Close() })
	d, err := directory.New(ctx, s, directory.Options{SecretKey: key})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	must(t, d.PutSecret(ctx, "k", []byte("one")))

	parses := 0
	c := directory.NewSecretsCache(d, func(ctx context.Context, d *directory.Directory) (string, error) {
		parses++
		v, err := d.Secret(ctx, "k")
		return string(v), err
	})
	load := func(want string, wantParses int) {
		t.Helper()
		got, err := c.Load(ctx)
		must(t, err)
		if got != want || parses != wantParses {
			t.Fatalf("Load = %q after %d parses, want %q after %d", got, parses, want, wantParses)
		}
	}
	load("one", 1)
	load("one", 1)
	must(t, d.PutSecret(ctx, "k", []byte("two")))
	load("two", 2)
	load("two", 2)
}
