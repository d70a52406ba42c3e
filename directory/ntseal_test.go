package directory_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/ldif"
)

var testKey = bytes.Repeat([]byte{7}, directory.SecretKeySize)

// ntForms are the ways an NT hash could sit in the file: raw, in hex, and
// in base64 as JSON writes bytes.
func ntForms(pw string) [][]byte {
	nt := password.NTHash(pw)
	return [][]byte{nt, []byte(hex.EncodeToString(nt)), []byte(password.NTHashHex(pw)), []byte(base64.StdEncoding.EncodeToString(nt))}
}

// boltHolds reports whether any key or value of the closed bbolt file at
// path, in any bucket, contains one of needles.
func boltHolds(t *testing.T, path string, needles [][]byte) bool {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	found := false
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				for _, n := range needles {
					found = found || bytes.Contains(k, n) || bytes.Contains(v, n)
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// A password set with Samba on leaves no NT hash in the file, in any form,
// and the hash is still read back right.
func TestNTHashSealedAtRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atrium.db")
	s := openStore(t, path)
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams, Samba: true, SecretKey: testKey})
	must(t, err)
	u, err := d.CreateUser(ctx, directory.User{UID: "carol", Mail: "carol@example.com"})
	must(t, err)
	const pw = "carol-smb-password"
	must(t, d.SetPassword(ctx, "carol", pw))
	nt, err := d.NTHash(ctx, u.ID)
	if err != nil || !bytes.Equal(nt, password.NTHash(pw)) {
		t.Fatalf("NT hash read back: %x, %v", nt, err)
	}
	// A backup is the store as it is: sealed. An export with secrets has
	// the password hash and no NT hash.
	var backup, export bytes.Buffer
	_, err = d.Backup(ctx, &backup)
	must(t, err)
	layout, err := ldif.NewLayout("dc=example,dc=com")
	must(t, err)
	must(t, ldif.Export(ctx, d, &export, layout, ldif.ExportOptions{Secrets: true}))
	if !bytes.Contains(export.Bytes(), []byte("userPassword: {ARGON2}")) {
		t.Errorf("export --with-secrets lacks the password hash:\n%s", export.Bytes())
	}
	for _, n := range ntForms(pw) {
		if bytes.Contains(backup.Bytes(), n) || bytes.Contains(export.Bytes(), n) {
			t.Errorf("the backup or the export holds the NT hash as %q", n)
		}
	}
	must(t, d.Close())
	must(t, s.Close())
	if boltHolds(t, path, ntForms(pw)) {
		t.Error("the store holds the NT hash")
	}
	raw, err := os.ReadFile(path)
	must(t, err)
	for _, n := range ntForms(pw) {
		if bytes.Contains(raw, n) {
			t.Errorf("the file's bytes hold the NT hash as %q", n)
		}
	}
	// Without the key the sealed hash cannot be read, and Samba is refused.
	s = openStore(t, path)
	t.Cleanup(func() { s.Close() })
	if _, err := directory.New(ctx, s, directory.Options{Samba: true}); !errors.Is(err, directory.ErrNoSecretKey) {
		t.Errorf("Samba without a secrets key: %v, want ErrNoSecretKey", err)
	}
	d, err = directory.New(ctx, s, directory.Options{})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	if _, err := d.NTHash(ctx, u.ID); !errors.Is(err, directory.ErrNoSecretKey) {
		t.Errorf("NT hash without the key: %v, want ErrNoSecretKey", err)
	}
}

// A schema 5 store, whose NT hashes are in clear, has them sealed on first
// open by this release.
func TestSchema5StoreSealsNTHashes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atrium.db")
	s := openStore(t, path)
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams})
	must(t, err)
	u, err := d.CreateUser(ctx, directory.User{UID: "dave", Mail: "dave@example.com"})
	must(t, err)
	const pw = "dave-smb-password"
	must(t, d.SetPassword(ctx, "dave", pw))
	must(t, d.Close())
	// Write the NT hash as schema 5 kept it: clear bytes under "nt".
	must(t, s.Update(ctx, func(tx directory.Tx) error {
		raw, err := tx.Get("creds", u.ID)
		if err != nil {
			return err
		}
		var c map[string]any
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		c["nt"] = password.NTHash(pw)
		raw, err = json.Marshal(c)
		if err != nil {
			return err
		}
		if err := tx.Put("creds", u.ID, raw); err != nil {
			return err
		}
		return tx.Put("meta", "schema", []byte("5"))
	}))
	if _, err := directory.New(ctx, s, directory.Options{}); !errors.Is(err, directory.ErrNoSecretKey) {
		t.Fatalf("migration without the key: %v, want ErrNoSecretKey", err)
	}

	d, err = directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams, Samba: true, SecretKey: testKey})
	must(t, err)
	nt, err := d.NTHash(ctx, u.ID)
	if err != nil || !bytes.Equal(nt, password.NTHash(pw)) {
		t.Errorf("NT hash after the migration: %x, %v", nt, err)
	}
	must(t, s.View(ctx, func(tx directory.Tx) error {
		v, err := tx.Get("meta", "schema")
		if err != nil || string(v) != strconv.Itoa(directory.SchemaVersion) {
			t.Errorf("schema after the migration = %q, %v", v, err)
		}
		return nil
	}))
	must(t, d.Close())
	must(t, s.Close())
	if boltHolds(t, path, ntForms(pw)) {
		t.Error("the store still holds the NT hash after the migration")
	}
}
