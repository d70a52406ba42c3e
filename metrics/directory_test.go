package metrics

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
)

// TestDirectoryHooks: a real directory on a bbolt file, hooked up with
// Directory, reports its transactions, logins, second-factor checks and
// backoff blocks.
func TestDirectoryHooks(t *testing.T) {
	ctx := context.Background()
	m := New(Options{})
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "atrium.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	opt := directory.Options{PasswordParams: password.TestParams}
	m.Directory(&opt)
	d, err := directory.New(ctx, s, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	u, err := d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(ctx, "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	login := directory.Login{Kind: directory.KindUser, Name: "alice", Password: "alice-password", Remote: "192.0.2.1", Service: "web"}
	if _, err := d.Authenticate(ctx, login); err != nil {
		t.Fatal(err)
	}
	codes, err := d.NewRecoveryCodes(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.UseRecoveryCode(ctx, u.ID, codes[0], "192.0.2.1", "web"); err != nil {
		t.Fatal(err)
	}
	for range 30 { // wrong codes until backoff refuses them
		d.UseRecoveryCode(ctx, u.ID, "wrong-code", "192.0.2.2", "web")
	}
	for _, c := range []struct {
		name, labels string
	}{
		{"atrium_logins_total", `app="",result="ok",service="web"`},
		{"atrium_second_factor_total", `method="recovery",result="ok"`},
		{"atrium_second_factor_total", `method="recovery",result="fail"`},
		{"atrium_second_factor_total", `method="recovery",result="throttled"`},
		{"atrium_backoff_blocks_total", `service="web"`},
		{"atrium_store_transaction_duration_seconds", `kind="view"`},
		{"atrium_store_transaction_duration_seconds", `kind="update"`},
	} {
		if v := value(t, m, c.name, c.labels); v < 1 {
			t.Errorf("%s{%s} = %v, want at least 1", c.name, c.labels, v)
		}
	}
}
