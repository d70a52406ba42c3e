package etcdstore

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/directory/storetest"
	"github.com/atrium-dir/atrium/totp"
)

// conflictingKV has another node commit just before every other
// transaction the store sends, so that each Update's first commit fails
// its guard and fn runs a second time, as after a real conflict.
type conflictingKV struct {
	clientv3.KV
	t         *testing.T
	commitKey string
	txns      atomic.Int64
}

func (k *conflictingKV) Txn(ctx context.Context) clientv3.Txn {
	if k.txns.Add(1)%2 == 1 {
		if _, err := k.KV.Put(ctx, k.commitKey, "another node"); err != nil {
			k.t.Error(err)
		}
	}
	return k.KV.Txn(ctx)
}

// TestConformanceWhereEveryUpdateRunsTwice runs the conformance suite on a
// store whose every Update loses its first commit to another node: an
// Update function of the directory with a side effect beyond its Tx (a
// count or a list kept from the first run, say) shows as a wrong result.
func TestConformanceWhereEveryUpdateRunsTwice(t *testing.T) {
	storetest.Run(t, func(t *testing.T) directory.Store {
		s := openStore(t, newClient(t), freshPrefix())
		kv := &conflictingKV{KV: s.kv, t: t, commitKey: s.commitKey}
		s.kv = kv
		t.Cleanup(func() {
			if kv.txns.Load() == 0 && !t.Failed() {
				t.Log("no transaction sent")
			}
		})
		return s
	})
}

// TestOneTimeCredentialsWhereEveryUpdateRunsTwice: on a store where every
// Update runs twice, the secrets an Update stores (recovery codes, an app
// password, a TOTP enrollment) are the ones handed out, and what may be
// used once (a recovery code, a TOTP step, a claim, a taken state) is
// accepted once and then refused.
func TestOneTimeCredentialsWhereEveryUpdateRunsTwice(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newClient(t), freshPrefix())
	s.kv = &conflictingKV{KV: s.kv, t: t, commitKey: s.commitKey}
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams, SecretKey: make([]byte, directory.SecretKeySize)})
	must(t, err)
	defer d.Close()
	alice, err := d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	twice := func(what string, use func() error, refused error) {
		t.Helper()
		if err := use(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if err := use(); !errors.Is(err, refused) {
			t.Fatalf("%s again: %v, want %v", what, err, refused)
		}
	}
	codes, err := d.NewRecoveryCodes(ctx, alice.ID)
	must(t, err)
	twice("recovery code", func() error { _, err := d.UseRecoveryCode(ctx, alice.ID, codes[3], "10.0.0.1", "web"); return err }, directory.ErrBadCode)
	app, err := d.AddAppPassword(ctx, "alice", "nas")
	must(t, err)
	if _, err := d.Authenticate(ctx, directory.Login{Name: "alice", Password: app, Remote: "10.0.0.1", Service: "ldap", AppPasswords: true}); err != nil {
		t.Fatalf("the app password handed out: %v", err)
	}
	secret, err := d.BeginTOTP(ctx, alice.ID)
	must(t, err)
	code, err := totp.CodeAt(secret, totp.Step(time.Now()))
	must(t, err)
	_, err = d.ConfirmTOTP(ctx, alice.ID, "", code, "10.0.0.1")
	must(t, err)
	next, err := totp.CodeAt(secret, totp.Step(time.Now())+1)
	must(t, err)
	twice("TOTP code", func() error { return d.VerifyTOTP(ctx, alice.ID, next, "10.0.0.1", "web") }, directory.ErrBadCode)
	twice("claim", func() error { return d.ClaimOnce(ctx, "once", "k", time.Now().Add(time.Hour)) }, directory.ErrUsed)
	must(t, d.PutState(ctx, "flow", "f", "v", time.Now().Add(time.Hour)))
	var v string
	twice("taken state", func() error { return d.TakeState(ctx, "flow", "f", &v) }, directory.ErrNotFound)
}
