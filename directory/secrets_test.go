package directory_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

func TestSecretsAreSealedWithAnOutsideKey(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key, err := directory.LoadOrCreateSecretKey(filepath.Join(dir, "secret.key"))
	must(t, err)
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets key mode %v, want 0600", fi.Mode().Perm())
	}
	again, err := directory.LoadOrCreateSecretKey(filepath.Join(dir, "secret.key"))
	must(t, err)
	if !bytes.Equal(key, again) {
		t.Fatal("key changed on reload")
	}
	dbPath := filepath.Join(dir, "atrium.db")
	s := openStore(t, dbPath)
	d, err := directory.New(ctx, s, directory.Options{SecretKey: key})
	must(t, err)
	plain := []byte("-----BEGIN PRIVATE KEY----- very secret")
	must(t, d.PutSecret(ctx, "saml-signing-key", plain))
	got, err := d.Secret(ctx, "saml-signing-key")
	must(t, err)
	if !bytes.Equal(got, plain) {
		t.Fatalf("Secret = %q", got)
	}
	must(t, d.Close())
	must(t, s.Close())
	raw, err := os.ReadFile(dbPath)
	must(t, err)
	if bytes.Contains(raw, []byte("very secret")) {
		t.Fatal("secret stored in the clear")
	}
	sealed, err := d.Seal([]byte("x"), "totp:1")
	must(t, err)
	if _, err := d.Unseal(sealed, "totp:2"); err == nil {
		t.Error("a sealed value opened under another purpose")
	}
}

func TestSchemaVersion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atrium.db")
	s := openStore(t, path)
	_, err := directory.New(ctx, s, directory.Options{})
	must(t, err)
	must(t, s.Update(ctx, func(tx directory.Tx) error {
		v, err := tx.Get("meta", "schema")
		if err != nil || string(v) != strconv.Itoa(directory.SchemaVersion) {
			t.Errorf("schema version stored as %q, %v", v, err)
		}
		return tx.Put("meta", "schema", []byte("99"))
	}))
	if _, err := directory.New(ctx, s, directory.Options{}); err == nil {
		t.Error("a store from a newer release was opened")
	}
	s.Close()
}
