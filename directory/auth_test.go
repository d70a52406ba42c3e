package directory_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

func login(name, pw, remote string) directory.Login {
	return directory.Login{Name: name, Password: pw, Remote: remote, Service: "test"}
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	_, err := d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	_, err = d.CreateUser(ctx, directory.User{UID: "mallory", Mail: "mallory@example.com", Disabled: true})
	must(t, err)
	must(t, d.SetPassword(ctx, "alice", "alice-password"))
	must(t, d.SetPassword(ctx, "mallory", "mallory-password"))
	app, err := d.AddAppPassword(ctx, "alice", "nas")
	must(t, err)
	_, err = d.CreateBindAccount(ctx, "grafana", nil, "grafana-password")
	must(t, err)

	cases := []struct {
		name   string
		login  directory.Login
		method string // "" means the login must fail
	}{
		{"password", login("alice", "alice-password", "192.0.2.1"), "password"},
		{"uid case", login("ALICE", "alice-password", "192.0.2.1"), "password"},
		{"by mail", login("alice@example.com", "alice-password", "192.0.2.1"), "password"},
		{"wrong password", login("alice", "nope-nope", "192.0.2.2"), ""},
		{"empty password", login("alice", "", "192.0.2.3"), ""},
		{"unknown user", login("nobody", "whatever", "192.0.2.4"), ""},
		{"disabled user", login("mallory", "mallory-password", "192.0.2.5"), ""},
		{"app password refused where not allowed", login("alice", app, "192.0.2.6"), ""},
		{"app password", directory.Login{Name: "alice", Password: app, Remote: "192.0.2.7", AppPasswords: true}, "app-password:nas"},
		{"bind account", directory.Login{Kind: directory.KindBindAccount, Name: "grafana", Password: "grafana-password"}, "password"},
		{"bind account is not a user", login("grafana", "grafana-password", "192.0.2.8"), ""},
		{"user is not a bind account", directory.Login{Kind: directory.KindBindAccount, Name: "alice", Password: "alice-password"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := d.Authenticate(ctx, c.login)
			if c.method == "" {
				if !errors.Is(err, directory.ErrBadCredentials) {
					t.Fatalf("err = %v, want ErrBadCredentials", err)
				}
				return
			}
			if err != nil || p.Method != c.method {
				t.Fatalf("Authenticate = %+v, %v; want method %s", p, err, c.method)
			}
		})
	}

	must(t, d.RevokeAppPassword(ctx, "alice", "nas"))
	if _, err := d.Authenticate(ctx, directory.Login{Name: "alice", Password: app, AppPasswords: true}); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("revoked app password still works: %v", err)
	}
	aps, err := d.AppPasswords(ctx, "alice")
	must(t, err)
	if len(aps) != 0 {
		t.Errorf("app passwords after revoke: %v", aps)
	}
}

func TestPasswordChangeDropsCachedBind(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	_, err := d.CreateUser(ctx, directory.User{UID: "bob", Mail: "bob@example.com"})
	must(t, err)
	must(t, d.SetPassword(ctx, "bob", "first-password"))
	bind := func(pw string) directory.Login {
		return directory.Login{Name: "bob", Password: pw, Remote: "192.0.2.1", Service: "ldap"}
	}
	for range 3 {
		_, err := d.Authenticate(ctx, bind("first-password"))
		must(t, err)
	}
	events, err := d.AuditEvents(ctx, directory.AuditQuery{Subject: "bob", Kind: "login"})
	must(t, err)
	if len(events) != 1 {
		t.Errorf("%d audited logins for 3 binds; repeat binds should come from the cache", len(events))
	}
	must(t, d.SetPassword(ctx, "bob", "second-password"))
	if _, err := d.Authenticate(ctx, bind("first-password")); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("old password still binds after a change: %v", err)
	}
	if _, err := d.Authenticate(ctx, bind("second-password")); err != nil {
		t.Fatal(err)
	}
	_, err = d.SetDisabled(ctx, "bob", true)
	must(t, err)
	if _, err := d.Authenticate(ctx, bind("second-password")); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("disabled user binds from the cache: %v", err)
	}
}

// Hashes as OpenLDAP's slappasswd, glibc crypt and htpasswd write them, all
// of the password "correct horse".
var importedHashes = map[string]string{
	"SSHA (slappasswd)": "{SSHA}Y/GISWxlFJgMboVMZFMyhlw/Og+0xKSt",
	"SSHA":              "{SSHA}NSZEu/ZzEMKdBO5ESNEYml3qKRYBAgMEBQYHCA==",
	"SSHA256":           "{SSHA256}CFsq5JPfiBQ0W3uR5Dnao+9mknEq9a739V+FPkJ6yjABAgMEBQYHCA==",
	"SSHA512":           "{SSHA512}ggObOJHDWCqgI5uFv/j9yDNYMvdTgt+Toj8d6cGrSG/e+E9GbH4DkQ8y5jY3NblhoGens+zNVX1mZaFy0qwRwwECAwQFBgcI",
	"CRYPT $5$":         "{CRYPT}$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/",
	"CRYPT $6$":         "{CRYPT}$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0",
	"CRYPT $2b$":        "{CRYPT}$2b$04$/t7c7W5ycQAddJqCndL8N.jpBpMIpQ0TK0GTpd4aHJPDuI7KGb34i",
}

func TestImportedHashesUpgradeAtLogin(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{Samba: true, SecretKey: testKey})
	older, err := (&password.Hasher{Params: password.Params{Memory: 32, Time: 1, Threads: 1}}).Hash("correct horse")
	must(t, err)
	hashes := map[string]string{"ARGON2 other params": older}
	for k, v := range importedHashes {
		hashes[k] = v
	}
	i := 0
	for name, hash := range hashes {
		t.Run(name, func(t *testing.T) {
			i++
			uid := fmt.Sprintf("imported%d", i)
			remote := fmt.Sprintf("192.0.2.%d", i)
			u, err := d.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com"})
			must(t, err)
			must(t, d.SetPasswordHash(ctx, uid, hash))
			if _, err := d.Authenticate(ctx, login(uid, "wrong horse", remote)); !errors.Is(err, directory.ErrBadCredentials) {
				t.Fatalf("wrong password accepted: %v", err)
			}
			if _, err := d.Authenticate(ctx, login(uid, "correct horse", remote)); err != nil {
				t.Fatalf("imported hash does not verify: %v", err)
			}
			s, err := d.UserSecrets(ctx, u.ID)
			must(t, err)
			if !strings.HasPrefix(s.PasswordHash, "{ARGON2}$argon2id$") || password.NeedsUpgrade(s.PasswordHash, password.TestParams) {
				t.Fatalf("hash not upgraded after login: %s", s.PasswordHash[:12])
			}
			if fmt.Sprintf("%X", s.NTHash) != password.NTHashHex("correct horse") {
				t.Errorf("NT hash not filled in at upgrade")
			}
			if ok, _ := password.Verify(s.PasswordHash, "correct horse"); !ok {
				t.Fatal("upgraded hash does not verify")
			}
		})
	}
	if err := d.SetPasswordHash(ctx, "imported1", "{CLEARTEXT}secret"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("cleartext import accepted: %v", err)
	}
}

func TestSambaNTHash(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{Samba: true, SecretKey: testKey})
	u, err := d.CreateUser(ctx, directory.User{UID: "carol", Mail: "carol@example.com"})
	must(t, err)
	must(t, d.SetPassword(ctx, "carol", "Tr0ub4dor&3"))
	nt, err := d.NTHash(ctx, u.ID)
	must(t, err)
	// The NT hash of "Tr0ub4dor&3", from openssl dgst -md4 of its UTF-16LE
	// bytes ("password", the usual example, is refused as common).
	if got := fmt.Sprintf("%X", nt); got != "24D9C99595080B241B3B4EB0CBA8D8F4" {
		t.Errorf("NT hash = %s", got)
	}
}

func TestBackoff(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	cfg := directory.BackoffConfig{AddressFreeFailures: 5, AddressMaxBlock: 15 * time.Minute, AccountFailures: 20, AccountLock: 30 * time.Second, Window: 15 * time.Minute}
	d := newTestDir(t, c, directory.Options{Backoff: cfg})
	_, err := d.CreateUser(ctx, directory.User{UID: "dave", Mail: "dave@example.com"})
	must(t, err)
	must(t, d.SetPassword(ctx, "dave", "dave-password"))
	const attacker, office = "203.0.113.66", "198.51.100.7"

	for i := range 6 {
		if _, err := d.Authenticate(ctx, login("dave", "guess", attacker)); !errors.Is(err, directory.ErrBadCredentials) {
			t.Fatalf("attempt %d: %v, want bad credentials", i+1, err)
		}
	}
	_, err = d.Authenticate(ctx, login("dave", "dave-password", attacker))
	var te *directory.ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("7th attempt from the guessing address: %v, want throttled even with the right password", err)
	}
	if _, err := d.Authenticate(ctx, login("dave", "dave-password", office)); err != nil {
		t.Fatalf("right password from another address: %v", err)
	}
	// Blocks grow: after several more failures the address waits minutes.
	for range 10 {
		c.Advance(time.Hour / 4)
		d.Authenticate(ctx, login("dave", "guess", attacker))
	}

	// A long flood from one address, which keeps trying whenever it may.
	longest := time.Duration(0)
	for range 2000 {
		c.Advance(time.Second)
		d.Authenticate(ctx, login("dave", "guess", attacker))
		_, err := d.Authenticate(ctx, login("dave", "dave-password", office))
		if errors.As(err, &te) {
			longest = max(longest, te.RetryAfter)
		} else if err != nil {
			t.Fatalf("real user: %v", err)
		}
	}
	if longest > cfg.AccountLock {
		t.Errorf("real user locked out for %s, more than the configured %s", longest, cfg.AccountLock)
	}

	// Many addresses, one failure each: the account is locked briefly, but
	// not at the office, where dave signs in.
	for i := range 20 {
		d.Authenticate(ctx, login("dave", "guess", fmt.Sprintf("192.0.2.%d", i)))
	}
	const cafe = "198.51.100.99"
	if _, err := d.Authenticate(ctx, login("dave", "dave-password", cafe)); !errors.As(err, &te) || te.RetryAfter > cfg.AccountLock {
		t.Fatalf("after 20 failures from many addresses, from a new address: %v", err)
	}
	if _, err := d.Authenticate(ctx, login("dave", "dave-password", office)); err != nil {
		t.Fatalf("after 20 failures from many addresses, from the office: %v", err)
	}
	c.Advance(cfg.AccountLock)
	if _, err := d.Authenticate(ctx, login("dave", "dave-password", cafe)); err != nil {
		t.Fatalf("account still locked after %s: %v", cfg.AccountLock, err)
	}
}

// A flood of wrong passwords at one account from one address refuses that
// account there, right password or not, but not another account that signs
// in from that address (the NAS's bind account), nor the flooded account
// from elsewhere. Spraying many accounts from one address blocks the
// address for accounts not seen signing in from it.
func TestBackoffPerAddressAndAccount(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d := newTestDir(t, c, directory.Options{})
	for _, uid := range []string{"alice", "bob"} {
		_, err := d.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com"})
		must(t, err)
		must(t, d.SetPassword(ctx, uid, uid+"-password"))
	}
	_, err := d.CreateBindAccount(ctx, "nas", []directory.Right{directory.RightRead}, "nas-password")
	must(t, err)
	nas := directory.Login{Kind: directory.KindBindAccount, Name: "nas", Password: "nas-password", Remote: "127.0.0.1", Service: "ldap"}
	if _, err := d.Authenticate(ctx, nas); err != nil {
		t.Fatal(err)
	}
	var te *directory.ThrottledError
	for range 200 {
		c.Advance(100 * time.Millisecond)
		d.Authenticate(ctx, login("alice", "guess", "127.0.0.1"))
	}
	if _, err := d.Authenticate(ctx, nas); err != nil {
		t.Errorf("the NAS's bind account beside a flood at alice from its address: %v", err)
	}
	if _, err := d.Authenticate(ctx, login("alice", "alice-password", "127.0.0.1")); !errors.As(err, &te) {
		t.Errorf("alice's right password from the flooding address: %v, want throttled", err)
	}
	if _, err := d.Authenticate(ctx, login("alice", "alice-password", "127.0.0.2")); err != nil {
		t.Errorf("alice's right password from another address: %v", err)
	}
	// bob has never signed in from the flooding address, but nobody is
	// guessing bob's password there: his right one works.
	if _, err := d.Authenticate(ctx, login("bob", "bob-password", "127.0.0.1")); err != nil {
		t.Errorf("bob, new at the flooding address: %v", err)
	}
	if _, err := d.Authenticate(ctx, login("bob", "bob-password", "127.0.0.3")); err != nil {
		t.Errorf("bob from another address: %v", err)
	}
	// The NAS's own failures there still block it there.
	for range 6 {
		d.Authenticate(ctx, directory.Login{Kind: directory.KindBindAccount, Name: "nas", Password: "old-password", Remote: "127.0.0.1", Service: "ldap"})
	}
	if _, err := d.Authenticate(ctx, nas); !errors.As(err, &te) {
		t.Errorf("the NAS after 6 failures of its own: %v, want throttled", err)
	}
}

func TestAuditOfLogins(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d := newTestDir(t, c, directory.Options{})
	_, err := d.CreateUser(ctx, directory.User{UID: "erin", Mail: "erin@example.com"})
	must(t, err)
	must(t, d.SetPassword(ctx, "erin", "erin-password"))
	d.Authenticate(ctx, directory.Login{Name: "erin", Password: "bad-password", Remote: "192.0.2.1", Service: "ldap"})
	c.Advance(time.Minute)
	d.Authenticate(ctx, directory.Login{Name: "erin", Password: "erin-password", Remote: "192.0.2.2", Service: "web"})
	events, err := d.AuditEvents(ctx, directory.AuditQuery{Subject: "erin"})
	must(t, err)
	if len(events) != 2 {
		t.Fatalf("events = %+v", events)
	}
	if e := events[0]; e.Result != directory.ResultBadPassword || e.Remote != "192.0.2.1" || e.Service != "ldap" {
		t.Errorf("failed login audited as %+v", e)
	}
	if e := events[1]; e.Result != directory.ResultOK || e.Remote != "192.0.2.2" || e.Service != "web" {
		t.Errorf("successful login audited as %+v", e)
	}
	recent, err := d.AuditEvents(ctx, directory.AuditQuery{Since: c.Now().Add(-30 * time.Second)})
	must(t, err)
	if len(recent) != 1 {
		t.Errorf("--since kept %d events, want 1", len(recent))
	}

	// Repeat LDAP binds within the bind cache's lifetime are audited once,
	// and web sign-ins with the same password every time.
	for range 3 {
		_, err := d.Authenticate(ctx, directory.Login{Name: "erin", Password: "erin-password", Remote: "192.0.2.3", Service: "ldap"})
		must(t, err)
	}
	for range 2 {
		_, err = d.Authenticate(ctx, directory.Login{Name: "erin", Password: "erin-password", Remote: "192.0.2.4", Service: "web"})
		must(t, err)
	}
	events, err = d.AuditEvents(ctx, directory.AuditQuery{Subject: "erin"})
	must(t, err)
	var services []string
	for _, e := range events[2:] {
		services = append(services, e.Service+"@"+e.Remote)
	}
	if want := []string{"ldap@192.0.2.3", "web@192.0.2.4", "web@192.0.2.4"}; !slices.Equal(services, want) {
		t.Errorf("audited logins after the first two: %v, want %v", services, want)
	}
}

// An unknown name is checked against a hash of the configured cost, so a
// failed login takes as long whether or not the account exists, whatever
// the config sets.
func TestDummyHashHasTheConfiguredCost(t *testing.T) {
	params := password.TestParams
	params.Time++
	d := newTestDir(t, nil, directory.Options{PasswordParams: params})
	if password.NeedsUpgrade(d.DummyHash(), params) {
		t.Fatalf("the dummy hash %q is not of the configured cost", d.DummyHash())
	}
}

// A bind account's last use is recorded, at most once an hour, so the
// console and the CLI can show which devices still bind.
func TestBindAccountLastUsed(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d := newTestDir(t, c, directory.Options{})
	_, err := d.CreateBindAccount(ctx, "nas", []directory.Right{directory.RightRead}, "nas-password")
	must(t, err)
	lastUsed := func() time.Time {
		t.Helper()
		accounts, err := d.ListBindAccounts(ctx)
		must(t, err)
		return accounts[0].LastUsed
	}
	if !lastUsed().IsZero() {
		t.Fatal("a new account has a last use")
	}
	bind := func() {
		t.Helper()
		_, err := d.Authenticate(ctx, directory.Login{Kind: directory.KindBindAccount, Name: "nas", Password: "nas-password", Remote: "192.0.2.1", Service: "ldap"})
		must(t, err)
	}
	bind()
	first := lastUsed()
	if !first.Equal(c.Now().UTC().Truncate(time.Second)) {
		t.Fatalf("last use %v after a bind at %v", first, c.Now())
	}
	c.Advance(10 * time.Minute)
	bind()
	if got := lastUsed(); !got.Equal(first) {
		t.Errorf("last use rewritten within the hour: %v", got)
	}
	c.Advance(time.Hour)
	bind()
	if got := lastUsed(); !got.After(first) {
		t.Errorf("last use not recorded after an hour: %v", got)
	}
}
