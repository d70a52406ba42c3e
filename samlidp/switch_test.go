package samlidp_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/samlidp"
)

// failingWrites is a real store whose write transactions fail from the
// (armed)th on, as if the process died after the ones before committed.
type failingWrites struct {
	directory.Store
	armed  atomic.Bool
	writes atomic.Int64
	after  int64
}

var errDied = errors.New("the process died here")

func (s *failingWrites) Update(ctx context.Context, fn func(directory.Tx) error) error {
	if s.armed.Load() && s.writes.Add(1) > s.after {
		return errDied
	}
	return s.Store.Update(ctx, fn)
}

// A key switch is one transaction: a switch cut short after its first
// write leaves the staged key staged and the app that moved early marked,
// never a switched key with a stale mark.
func TestSwitchKeyIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	bolt, err := boltstore.Open(filepath.Join(t.TempDir(), "atrium.db"), time.Second)
	must(t, err)
	t.Cleanup(func() { bolt.Close() })
	store := &failingWrites{Store: bolt, after: 1}
	d, err := directory.New(ctx, store, directory.Options{PasswordParams: password.TestParams, SecretKey: bytes.Repeat([]byte{7}, 32)})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	must(t, samlidp.EnsureKey(ctx, d))
	_, err = d.CreateApp(ctx, directory.App{Name: "grafana", EntityID: "https://grafana.example.com", ACS: []directory.Endpoint{{URL: "https://grafana.example.com/saml/acs"}}})
	must(t, err)
	must(t, samlidp.StageKey(ctx, d))
	must(t, samlidp.UseNextKey(ctx, d, "grafana"))
	staged, err := d.Secret(ctx, "saml-next-key")
	must(t, err)

	store.armed.Store(true)
	if err := samlidp.SwitchKey(ctx, d); err == nil {
		t.Log("the switch fitted in the one write allowed")
	}
	store.armed.Store(false)
	app, err := d.App(ctx, "grafana")
	must(t, err)
	current, err := d.Secret(ctx, "saml-signing-key")
	must(t, err)
	switched := string(current) == string(staged)
	if switched == app.NextCert {
		t.Errorf("half a switch: key switched %v, grafana still marked for the staged key %v", switched, app.NextCert)
	}
}
