package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
)

// testdata/schema-N.db.gz is a store written by the release whose
// SchemaVersion was N, made by testdata/mkfixture.sh with that release's
// binary (built from the parent of the commit that introduced schema N+1).
// schema-5 was made with ATRIUM_SAMBA=true, so it holds the clear NT hashes
// that schema 6 seals.

func unpackFixture(t *testing.T, name, dst string) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func storedSchema(t *testing.T, path string) int {
	t.Helper()
	s, err := boltstore.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := directory.StoredSchema(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUpgradeFromEveryEarlierSchema(t *testing.T) {
	for from := 1; from < directory.SchemaVersion; from++ {
		t.Run(fmt.Sprintf("schema-%d", from), func(t *testing.T) {
			cfg := defaultConfig()
			cfg.Data = t.TempDir()
			db := filepath.Join(cfg.Data, "atrium.db")
			unpackFixture(t, fmt.Sprintf("schema-%d.db.gz", from), db)
			var logs bytes.Buffer
			d, s, err := openDirectory(context.Background(), cfg, time.Second, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			checkUpgradedFixture(t, d)
			d.Close()
			s.Close()

			bak := fmt.Sprintf("%s.schema-%d.bak", db, from)
			if got := storedSchema(t, bak); got != from {
				t.Errorf("%s holds schema %d, want the old %d", bak, got, from)
			}
			if !strings.Contains(logs.String(), bak) {
				t.Errorf("the log does not say where the old database went:\n%s", logs.String())
			}
			if got := storedSchema(t, db); got != directory.SchemaVersion {
				t.Errorf("upgraded store has schema %d", got)
			}
		})
	}
}

// checkUpgradedFixture checks every index (directory.Check) and the records
// testdata/mkfixture.sh made.
func checkUpgradedFixture(t *testing.T, d *directory.Directory) {
	t.Helper()
	ctx := context.Background()
	problems, err := d.Check(ctx)
	if err != nil || len(problems) > 0 {
		t.Fatalf("Check after upgrade: %v %v", problems, err)
	}
	users, err := d.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range users {
		got = append(got, fmt.Sprintf("%s %s %q disabled=%v", u.UID, u.Mail, u.CommonName(), u.Disabled))
	}
	want := []string{
		`alice alice@example.com "Alice Liddell" disabled=false`,
		`bob bob@example.com "Bob  Builder" disabled=true`,
		`caroline Carol@Example.com "Carol" disabled=false`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("users after upgrade:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := d.Authenticate(ctx, directory.Login{Kind: directory.KindUser, Name: "caroline", Password: "carol password three", Service: "test"}); err != nil {
		t.Errorf("caroline (renamed from carol) cannot sign in after upgrade: %v", err)
	}
	if _, err := d.Authenticate(ctx, directory.Login{Kind: directory.KindBindAccount, Name: "nas", Password: "nas bind password", Service: "test"}); err != nil {
		t.Errorf("bind account nas after upgrade: %v", err)
	}
	if apps, err := d.AppPasswords(ctx, "alice"); err != nil || len(apps) != 1 || apps[0].Name != "phone" {
		t.Errorf("alice's app passwords after upgrade: %v %v", apps, err)
	}
	checkFixtureGroups(t, d)
}

func checkFixtureGroups(t *testing.T, d *directory.Directory) {
	t.Helper()
	ctx := context.Background()
	for _, tc := range []struct{ group, want string }{
		{"alice", "staff"},
		{"caroline", "Admins staff"},
	} {
		groups, err := d.EffectiveGroups(ctx, tc.group)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range groups {
			names = append(names, g.CN)
		}
		slices.Sort(names)
		if got := strings.Join(names, " "); got != tc.want {
			t.Errorf("%s's groups after upgrade: %q, want %q", tc.group, got, tc.want)
		}
	}
	if _, err := d.User(ctx, "dave"); err == nil {
		t.Error("dave, deleted before the upgrade, is back")
	}
}

func TestNewerSchemaIsRefusedAndTheFileUntouched(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "atrium.db")
	s, err := boltstore.Open(db, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	newer := fmt.Sprint(directory.SchemaVersion + 1)
	if err := s.Update(context.Background(), func(tx directory.Tx) error { return tx.Put("meta", "schema", []byte(newer)) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(db, old, old); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(db)

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"user", "list", "--data", dir}, strings.NewReader(""), &stdout, &stderr)
	if code == exitOK || !strings.Contains(stderr.String(), "written by a newer release of Atrium (schema "+newer) {
		t.Fatalf("exit %d, stderr %q: want a refusal naming the newer schema", code, stderr.String())
	}
	after, _ := os.ReadFile(db)
	info, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) || !info.ModTime().Equal(old) {
		t.Errorf("the refused file changed (bytes equal %v, mtime %v)", bytes.Equal(before, after), info.ModTime())
	}
	if baks, _ := filepath.Glob(db + ".schema-*"); len(baks) > 0 {
		t.Errorf("a refused store was copied aside: %v", baks)
	}
}
