package etcdstore

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/etcdstore/etcdtest"
	"github.com/atrium-dir/atrium/directory/password"
)

// twoDirectories are two Atrium nodes: a Directory each, on their own
// Stores (and etcd clients) over one keyspace.
func twoDirectories(t *testing.T) (a, b *directory.Directory, sa, sb *Store) {
	t.Helper()
	sa, sb = twoNodes(t)
	a, b = directoriesOn(t, sa, sb)
	return a, b, sa, sb
}

// directoriesOn opens a Directory on each of the stores, with opts.
func directoriesOn(t *testing.T, sa, sb *Store, opts ...directory.Options) (a, b *directory.Directory) {
	t.Helper()
	o := directory.Options{PasswordParams: password.TestParams}
	if len(opts) > 0 {
		o = opts[0]
	}
	dirs := make([]*directory.Directory, 2)
	for i, s := range []*Store{sa, sb} {
		d, err := directory.New(context.Background(), s, o)
		must(t, err)
		t.Cleanup(func() { d.Close() })
		dirs[i] = d
	}
	return dirs[0], dirs[1]
}

func login(d *directory.Directory, service, pw string) error {
	_, err := d.Authenticate(context.Background(), directory.Login{Name: "alice", Password: pw, Remote: "127.0.0.1", Service: service})
	return err
}

// TestPasswordChangeDropsOtherNodesBindCache: B has verified alice's
// password for an LDAP bind and remembers it; A changes the password; B
// refuses the old one at once. Without the cache hearing of changes from
// the mirror, B would go on accepting it for the cache's lifetime.
func TestPasswordChangeDropsOtherNodesBindCache(t *testing.T) {
	ctx := context.Background()
	a, b, _, _ := twoDirectories(t)
	_, err := a.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	must(t, a.SetPassword(ctx, "alice", "old password 1"))
	for range 2 { // the second bind is answered from B's cache
		must(t, login(b, "ldap", "old password 1"))
	}
	must(t, a.SetPassword(ctx, "alice", "new password 2"))
	if err := login(b, "ldap", "old password 1"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("old password on B after the change on A: %v, want ErrBadCredentials", err)
	}
	must(t, login(b, "ldap", "new password 2"))
	if _, err := a.SetDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if err := login(b, "ldap", "new password 2"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("disabled on A, bind on B: %v, want ErrBadCredentials", err)
	}
}

// TestLoginWaitsForOtherNodesChange: B's mirror is held back while A
// changes the password; a login on B must not be judged on the stale
// mirror but wait (Sync) until it holds A's commit.
func TestLoginWaitsForOtherNodesChange(t *testing.T) {
	ctx := context.Background()
	a, b, _, sb := twoDirectories(t)
	_, err := a.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	must(t, a.SetPassword(ctx, "alice", "old password 1"))
	must(t, login(b, "web", "old password 1"))

	sb.pauseWatch()
	must(t, a.SetPassword(ctx, "alice", "new password 2"))
	go func() {
		time.Sleep(300 * time.Millisecond)
		sb.startWatch()
	}()
	if err := login(b, "web", "old password 1"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("old password on B while its mirror lagged: %v, want ErrBadCredentials", err)
	}
	must(t, login(b, "web", "new password 2"))
}

// TestCheckSecretKey: a node with another secrets key than the one that
// sealed the cluster's secrets is told so; the right key passes.
func TestCheckSecretKey(t *testing.T) {
	ctx := context.Background()
	sa, sb := twoNodes(t)
	key := func(b byte) []byte { k := make([]byte, directory.SecretKeySize); k[0] = b; return k }
	a, err := directory.New(ctx, sa, directory.Options{SecretKey: key(1)})
	must(t, err)
	defer a.Close()
	must(t, a.CheckSecretKey(ctx)) // nothing sealed yet
	must(t, a.PutSecret(ctx, "saml-signing-key", []byte("pem")))
	must(t, a.CheckSecretKey(ctx))
	b, err := directory.New(ctx, sb, directory.Options{SecretKey: key(2)})
	must(t, err)
	defer b.Close()
	if err := b.CheckSecretKey(ctx); !errors.Is(err, directory.ErrWrongSecretKey) {
		t.Fatalf("other key: %v, want ErrWrongSecretKey", err)
	}
}

// countingSyncs is a Store that counts its Syncs.
type countingSyncs struct {
	*Store
	n atomic.Int64
}

func (c *countingSyncs) Sync(ctx context.Context) error {
	c.n.Add(1)
	return c.Store.Sync(ctx)
}

// TestLoginsWithoutQuorum: with two of three members down, a login waits
// for one freshness check, then is judged on the node's copy; the logins
// after it do not wait again. With RequireFreshLogins they are refused
// with directory.ErrUnavailable instead.
func TestLoginsWithoutQuorum(t *testing.T) {
	ctx := context.Background()
	c, err := etcdtest.Start(t.TempDir(), 3)
	t.Cleanup(c.Close)
	must(t, err)
	s, err := Open(ctx, clientOf(t, c, 0), Options{RequestTimeout: time.Second})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	counted := &countingSyncs{Store: s}
	opts := directory.Options{PasswordParams: password.TestParams, SyncTimeout: 300 * time.Millisecond}
	d, err := directory.New(ctx, counted, opts)
	must(t, err)
	defer d.Close()
	_, err = d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	must(t, d.SetPassword(ctx, "alice", "alice password 1"))
	opts.RequireFreshLogins = true
	strict, err := directory.New(ctx, s, opts)
	must(t, err)
	defer strict.Close()

	c.StopMember(1)
	c.StopMember(2)
	before := counted.n.Load()
	for range 3 {
		must(t, login(d, "web", "alice password 1"))
	}
	if n := counted.n.Load() - before; n != 1 {
		t.Errorf("%d freshness checks for three logins without quorum, want 1", n)
	}
	if err := login(d, "web", "wrong password"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("wrong password without quorum: %v", err)
	}
	if err := login(strict, "web", "alice password 1"); !errors.Is(err, directory.ErrUnavailable) {
		t.Errorf("RequireFreshLogins without quorum: %v, want ErrUnavailable", err)
	}
}

// TestBackoffCountsFailuresOnBothNodes: an account locks after four
// failures from anywhere; two are made on node A and two on node B, each
// from its own address. Node A then refuses even the right password from
// a new address: it counted B's failures too.
func TestBackoffCountsFailuresOnBothNodes(t *testing.T) {
	sa, sb := twoNodes(t)
	backoffOnBothNodes(t, sa, sb)
}

// backoffOnBothNodes is TestBackoffCountsFailuresOnBothNodes on the
// nodes' stores sa and sb.
func backoffOnBothNodes(t *testing.T, sa, sb *Store) {
	ctx := context.Background()
	a, b := directoriesOn(t, sa, sb, directory.Options{PasswordParams: password.TestParams,
		Backoff: directory.BackoffConfig{AccountFailures: 4, AccountLock: time.Minute, AddressFreeFailures: 10}})
	alice, err := a.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	must(t, a.SetPassword(ctx, "alice", "alice password 1"))

	fail := func(d *directory.Directory, addr string) {
		_, err := d.Authenticate(ctx, directory.Login{Name: "alice", Password: "guess", Remote: addr, Service: "web"})
		if !errors.Is(err, directory.ErrBadCredentials) {
			t.Fatalf("a wrong password: %v", err)
		}
	}
	fail(a, "10.0.0.1")
	fail(a, "10.0.0.1")
	fail(b, "10.0.0.2")
	fail(b, "10.0.0.2")
	// Asking, unlike a login, changes nothing: poll until B's failures
	// have reached A.
	for deadline := time.Now().Add(5 * time.Second); a.AllowAttempt("10.0.0.3", alice.ID) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("node A, after 2 failures there and 2 on B, does not lock the account")
		}
	}
	_, err = a.Authenticate(ctx, directory.Login{Name: "alice", Password: "alice password 1", Remote: "10.0.0.3", Service: "web"})
	if !errors.Is(err, directory.ErrThrottled) {
		t.Fatalf("the right password on the locked account: %v, want ErrThrottled", err)
	}
}

// TestMFARequirementFollowsOtherNode: an admin requires a second factor
// of everyone in node A's console; node B, which also follows the stored
// requirement, applies it without a restart.
func TestMFARequirementFollowsOtherNode(t *testing.T) {
	ctx := context.Background()
	sa, sb := twoNodes(t)
	key := make([]byte, directory.SecretKeySize)
	var dirs []*directory.Directory
	for _, s := range []*Store{sa, sb} {
		d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams, SecretKey: key})
		must(t, err)
		t.Cleanup(func() { d.Close() })
		dirs = append(dirs, d)
	}
	a, b := dirs[0], dirs[1]
	must(t, a.SetSettings(ctx, map[string]string{directory.KeyMFARequire: "all"}, directory.Changer{Actor: "ada", Service: "console"}))
	must(t, sb.Sync(ctx))
	if !b.MFAPolicy().All {
		t.Fatal("node B still applies the MFA requirement from before node A's change")
	}
}

// TestRecoveryCodeSpentOnOneNode: a recovery code used on node A is
// refused on node B at once, and B counts the codes left as A does.
func TestRecoveryCodeSpentOnOneNode(t *testing.T) {
	ctx := context.Background()
	a, b, _, _ := twoDirectories(t)
	alice, err := a.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	codes, err := a.NewRecoveryCodes(ctx, alice.ID)
	must(t, err)
	if _, err := a.UseRecoveryCode(ctx, alice.ID, codes[0], "10.0.0.1", "web"); err != nil {
		t.Fatalf("a fresh code on A: %v", err)
	}
	if _, err := b.UseRecoveryCode(ctx, alice.ID, codes[0], "10.0.0.2", "web"); !errors.Is(err, directory.ErrBadCode) {
		t.Fatalf("the code spent on A, on B: %v, want ErrBadCode", err)
	}
	left, err := b.UseRecoveryCode(ctx, alice.ID, codes[1], "10.0.0.2", "web")
	must(t, err)
	if left != len(codes)-2 {
		t.Fatalf("B counts %d codes left of %d after two were used", left, len(codes))
	}
}

// TestMFAResetOnOtherNodeCountsAtOnce: an admin resets alice's second
// factors on node A while node B's mirror lags; B's next look at her
// factors (a login's second step) waits for the reset instead of
// offering the removed passkey.
func TestMFAResetOnOtherNodeCountsAtOnce(t *testing.T) {
	ctx := context.Background()
	sa, sb := twoNodes(t)
	a, b := directoriesOn(t, sa, sb, directory.Options{PasswordParams: password.TestParams, SecretKey: make([]byte, directory.SecretKeySize)})
	alice, err := a.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	_, err = a.AddFactor(ctx, alice.ID, directory.Factor{Kind: directory.FactorPasskey, Name: "Key"}, []byte("credential"))
	must(t, err)
	if fs, err := b.Factors(ctx, alice.ID); err != nil || len(fs) != 1 {
		t.Fatalf("B before the reset: %v, %v", fs, err)
	}
	sb.pauseWatch()
	must(t, a.ResetMFA(ctx, alice.ID))
	go func() {
		time.Sleep(300 * time.Millisecond)
		sb.startWatch()
	}()
	if fs, err := b.Factors(ctx, alice.ID); err != nil || len(fs) != 0 {
		t.Fatalf("B right after the reset on A: %v, %v; want none", fs, err)
	}
}

// TestKeyRotationReachesOtherNode: node B keeps a key parsed from the
// secrets (as the SAML and OIDC signing keyrings are kept); a rotation
// written on node A replaces it on B without a restart.
func TestKeyRotationReachesOtherNode(t *testing.T) {
	ctx := context.Background()
	sa, sb := twoNodes(t)
	a, b := directoriesOn(t, sa, sb, directory.Options{PasswordParams: password.TestParams, SecretKey: make([]byte, directory.SecretKeySize)})
	must(t, a.PutSecret(ctx, "signing-key", []byte("key 1")))
	must(t, sb.Sync(ctx))
	keys := directory.NewSecretsCache(b, func(ctx context.Context, d *directory.Directory) ([]byte, error) {
		return d.Secret(ctx, "signing-key")
	})
	if k, err := keys.Load(ctx); err != nil || string(k) != "key 1" {
		t.Fatalf("B's key: %q, %v", k, err)
	}
	must(t, a.PutSecret(ctx, "signing-key", []byte("key 2")))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		k, err := keys.Load(ctx)
		must(t, err)
		if string(k) == "key 2" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("B still uses %q after A rotated the key", k)
		}
	}
}

// TestMemoRemembersNothingOnASharedStore: another node's write does not
// pass through this node's count, so on etcd a Memo never answers and
// every read goes to the store.
func TestMemoRemembersNothingOnASharedStore(t *testing.T) {
	a, _, _, _ := twoDirectories(t)
	m := directory.NewMemo[string, int](a)
	m.Put(m.Mark(), "k", 1)
	if _, ok := m.Get("k"); ok {
		t.Fatal("a Memo on a shared store remembered a value")
	}
}
