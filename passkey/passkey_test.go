package passkey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
)

const pkOrigin = "https://id.example.com:8443"

type pkEnv struct {
	ctx   context.Context
	clock *dirtest.Clock
	dir   *directory.Directory
	keys  *Passkeys
}

func newPKEnv(t testing.TB) *pkEnv {
	t.Helper()
	clock := dirtest.NewClock(time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC))
	d := dirtest.New(t, clock.Now)
	keys, err := New(d, must(url.Parse(pkOrigin)), Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &pkEnv{ctx: context.Background(), clock: clock, dir: d, keys: keys}
}

func (e *pkEnv) user(t testing.TB, uid, display string) directory.User {
	t.Helper()
	u, err := e.dir.CreateUser(e.ctx, directory.User{UID: uid, Mail: uid + "@example.com", DisplayName: display})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// register adds a passkey held by a new soft key for u.
func (e *pkEnv) register(t testing.TB, u directory.User, name string) (*softKey, directory.Factor) {
	t.Helper()
	k := newSoftKey(t, pkOrigin, "id.example.com")
	c, err := e.keys.BeginRegistration(e.ctx, u.ID, "session-"+u.UID)
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.keys.FinishRegistration(e.ctx, u.ID, "session-"+u.UID, c.Ceremony, name, k.create(c))
	if err != nil {
		t.Fatal(err)
	}
	// Factors list oldest first; keep registrations apart.
	e.clock.Advance(time.Second)
	return k, f
}

func (e *pkEnv) signIn(t *testing.T, u directory.User, k *softKey) (directory.Factor, error) {
	t.Helper()
	c, err := e.keys.beginLogin(e.ctx, purposeLogin, u.ID, "flow", protocol.VerificationPreferred, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e.keys.finishLogin(e.ctx, purposeLogin, u.ID, "flow", c.Ceremony, k.get(c), Attempt{Remote: "192.0.2.7", Service: "web"})
}

func (e *pkEnv) storedCredential(t *testing.T, u directory.User, f directory.Factor) webauthn.Credential {
	t.Helper()
	secret, err := e.dir.FactorSecret(e.ctx, u.ID, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	var c webauthn.Credential
	if err := json.Unmarshal(secret, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewTakesTheRelyingPartyFromTheExternalURL(t *testing.T) {
	d := dirtest.New(t, nil)
	for _, tc := range []struct {
		url, rpID, origin string
	}{
		{"https://id.example.com:8443/portal", "id.example.com", "https://id.example.com:8443"},
		{"https://id.example.com", "id.example.com", "https://id.example.com"},
		{"http://localhost:8080", "localhost", "http://localhost:8080"},
		{"http://atrium.localhost:9000", "atrium.localhost", "http://atrium.localhost:9000"},
		// Browsers refuse WebAuthn outside a secure context and for IP
		// addresses.
		{"http://id.example.com", "", ""},
		{"https://192.0.2.1", "", ""},
		{"http://127.0.0.1:8080", "", ""},
		{"https://[2001:db8::1]:8443", "", ""},
	} {
		keys, err := New(d, must(url.Parse(tc.url)), Options{})
		if tc.rpID == "" {
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("%s: err = %v, want ErrUnavailable", tc.url, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if keys.RPID() != tc.rpID || len(keys.wa.Config.RPOrigins) != 1 || keys.wa.Config.RPOrigins[0] != tc.origin {
			t.Errorf("%s: rp id %q origins %q, want %q [%q]", tc.url, keys.RPID(), keys.wa.Config.RPOrigins, tc.rpID, tc.origin)
		}
	}
}

func TestUserAdapter(t *testing.T) {
	e := newPKEnv(t)
	alice := e.user(t, "alice", "Alice Liddell")
	u, err := e.keys.loadUser(e.ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := uuid.MustParse(alice.ID)
	if !bytes.Equal(u.WebAuthnID(), want[:]) {
		t.Errorf("handle %x, want the entryUUID's bytes %x", u.WebAuthnID(), want[:])
	}
	if u.WebAuthnName() != "alice" || u.WebAuthnDisplayName() != "Alice Liddell" {
		t.Errorf("name %q display %q", u.WebAuthnName(), u.WebAuthnDisplayName())
	}
	if len(u.WebAuthnCredentials()) != 0 {
		t.Errorf("credentials before registration: %d", len(u.WebAuthnCredentials()))
	}

	k1, _ := e.register(t, alice, "Laptop")
	k2, _ := e.register(t, alice, "YubiKey")
	// A renamed user keeps the handle their passkeys store.
	if _, err := e.dir.RenameUser(e.ctx, "alice", "alice2"); err != nil {
		t.Fatal(err)
	}
	u, err = e.keys.loadUser(e.ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(u.WebAuthnID(), want[:]) || u.WebAuthnName() != "alice2" {
		t.Errorf("after rename: handle %x name %q", u.WebAuthnID(), u.WebAuthnName())
	}
	creds := u.WebAuthnCredentials()
	if len(creds) != 2 || !bytes.Equal(creds[0].ID, k1.id) || !bytes.Equal(creds[1].ID, k2.id) {
		t.Fatalf("credentials %d, want the two registered", len(creds))
	}
	if !bytes.Equal(k1.handle, want[:]) {
		t.Errorf("registration sent user handle %x, want %x", k1.handle, want[:])
	}

	// The display name falls back like everywhere else.
	bob := e.user(t, "bob", "")
	u, err = e.keys.loadUser(e.ctx, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.WebAuthnDisplayName() != "bob" {
		t.Errorf("display name %q, want the uid", u.WebAuthnDisplayName())
	}
}

func TestRegisterStoresNamedPasskeysAsFactors(t *testing.T) {
	e := newPKEnv(t)
	alice := e.user(t, "alice", "Alice")
	k, f := e.register(t, alice, "  Laptop  ")
	e.register(t, alice, "Phone")

	factors, err := e.dir.Factors(e.ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(factors) != 2 || factors[0].Kind != directory.FactorPasskey || factors[0].Name != "Laptop" || factors[1].Name != "Phone" {
		t.Fatalf("factors %+v, want passkeys Laptop and Phone", factors)
	}
	if !factors[0].Created.Equal(e.clock.Now().Add(-2*time.Second)) || !factors[0].LastUsed.IsZero() {
		t.Errorf("created %v last used %v", factors[0].Created, factors[0].LastUsed)
	}
	c := e.storedCredential(t, alice, f)
	if !bytes.Equal(c.ID, k.id) || len(c.PublicKey) == 0 {
		t.Errorf("stored credential id %x key %d bytes", c.ID, len(c.PublicKey))
	}

	// The same authenticator is excluded from the next registration, and
	// refused if the browser registers it anyway.
	begun, err := e.keys.BeginRegistration(e.ctx, alice.ID, "s")
	if err != nil {
		t.Fatal(err)
	}
	excluded := begun.Options.(*protocol.CredentialCreation).Response.CredentialExcludeList
	if len(excluded) != 2 {
		t.Errorf("exclude list has %d credentials, want 2", len(excluded))
	}
	if _, err := e.keys.FinishRegistration(e.ctx, alice.ID, "s", begun.Ceremony, "Again", k.create(begun)); !errors.Is(err, ErrRefused) {
		t.Errorf("registering one credential twice: err = %v, want ErrRefused", err)
	}
}

func TestRegistrationRefusals(t *testing.T) {
	e := newPKEnv(t)
	alice := e.user(t, "alice", "Alice")
	bob := e.user(t, "bob", "Bob")
	k := newSoftKey(t, pkOrigin, "id.example.com")

	begin := func() Challenge {
		c, err := e.keys.BeginRegistration(e.ctx, alice.ID, "alice-session")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name string
		run  func(c Challenge) error
		want error
	}{
		{"another user", func(c Challenge) error {
			_, err := e.keys.FinishRegistration(e.ctx, bob.ID, "alice-session", c.Ceremony, "Key", k.create(c))
			return err
		}, ErrCeremony},
		{"another session", func(c Challenge) error {
			_, err := e.keys.FinishRegistration(e.ctx, alice.ID, "other-session", c.Ceremony, "Key", k.create(c))
			return err
		}, ErrCeremony},
		{"unknown ceremony", func(c Challenge) error {
			_, err := e.keys.FinishRegistration(e.ctx, alice.ID, "alice-session", "nope", "Key", k.create(c))
			return err
		}, ErrCeremony},
		{"empty name", func(c Challenge) error {
			_, err := e.keys.FinishRegistration(e.ctx, alice.ID, "alice-session", c.Ceremony, "  ", k.create(c))
			return err
		}, ErrName},
		{"long name", func(c Challenge) error {
			_, err := e.keys.FinishRegistration(e.ctx, alice.ID, "alice-session", c.Ceremony, string(bytes.Repeat([]byte("x"), 65)), k.create(c))
			return err
		}, ErrName},
		{"control character", func(c Challenge) error {
			_, err := e.keys.FinishRegistration(e.ctx, alice.ID, "alice-session", c.Ceremony, "a\nb", k.create(c))
			return err
		}, ErrName},
		{"other origin", func(c Challenge) error {
			evil := newSoftKey(t, "https://evil.example.net", "id.example.com")
			_, err := e.keys.FinishRegistration(e.ctx, alice.ID, "alice-session", c.Ceremony, "Key", evil.create(c))
			return err
		}, ErrRefused},
		{"other relying party", func(c Challenge) error {
			evil := newSoftKey(t, pkOrigin, "evil.example.net")
			_, err := e.keys.FinishRegistration(e.ctx, alice.ID, "alice-session", c.Ceremony, "Key", evil.create(c))
			return err
		}, ErrRefused},
		{"garbage", func(c Challenge) error {
			_, err := e.keys.FinishRegistration(e.ctx, alice.ID, "alice-session", c.Ceremony, "Key", []byte(`{"id":`))
			return err
		}, ErrRefused},
	} {
		if err := tc.run(begin()); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, u := range []directory.User{alice, bob} {
		if f, _ := e.dir.Factors(e.ctx, u.ID); len(f) != 0 {
			t.Errorf("%s has factors %+v after refused registrations", u.UID, f)
		}
	}
}

func TestCeremoniesAreSingleUseAndExpire(t *testing.T) {
	e := newPKEnv(t)
	alice := e.user(t, "alice", "Alice")
	k := newSoftKey(t, pkOrigin, "id.example.com")

	c, err := e.keys.BeginRegistration(e.ctx, alice.ID, "s")
	if err != nil {
		t.Fatal(err)
	}
	resp := k.create(c)
	if _, err := e.keys.FinishRegistration(e.ctx, alice.ID, "s", c.Ceremony, "Key", resp); err != nil {
		t.Fatal(err)
	}
	if _, err := e.keys.FinishRegistration(e.ctx, alice.ID, "s", c.Ceremony, "Key", resp); !errors.Is(err, ErrCeremony) {
		t.Errorf("replayed registration: err = %v, want ErrCeremony", err)
	}

	// A refused attempt spends the ceremony too.
	c, err = e.keys.beginLogin(e.ctx, purposeLogin, alice.ID, "flow", protocol.VerificationPreferred, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.keys.finishLogin(e.ctx, purposeLogin, alice.ID, "flow", c.Ceremony, []byte("{}"), Attempt{}); !errors.Is(err, ErrRefused) {
		t.Errorf("garbage assertion: err = %v, want ErrRefused", err)
	}
	if _, err := e.keys.finishLogin(e.ctx, purposeLogin, alice.ID, "flow", c.Ceremony, k.get(c), Attempt{}); !errors.Is(err, ErrCeremony) {
		t.Errorf("second try on one ceremony: err = %v, want ErrCeremony", err)
	}

	// A ceremony lives five minutes by the injected clock.
	c, err = e.keys.beginLogin(e.ctx, purposeLogin, alice.ID, "flow", protocol.VerificationPreferred, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(ceremonyTTL)
	if _, err := e.keys.finishLogin(e.ctx, purposeLogin, alice.ID, "flow", c.Ceremony, k.get(c), Attempt{}); !errors.Is(err, ErrCeremony) {
		t.Errorf("expired ceremony: err = %v, want ErrCeremony", err)
	}
	c, err = e.keys.beginLogin(e.ctx, purposeLogin, alice.ID, "flow", protocol.VerificationPreferred, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(ceremonyTTL - time.Second)
	if _, err := e.keys.finishLogin(e.ctx, purposeLogin, alice.ID, "flow", c.Ceremony, k.get(c), Attempt{}); err != nil {
		t.Errorf("ceremony just before expiry: %v", err)
	}

	// A ceremony begun for one purpose does not finish another.
	c, err = e.keys.BeginRegistration(e.ctx, alice.ID, "flow")
	if err != nil {
		t.Fatal(err)
	}
	k.counter++
	resp = k.sign(c.Options.(*protocol.CredentialCreation).Response.Challenge)
	if _, err := e.keys.finishLogin(e.ctx, purposeLogin, alice.ID, "flow", c.Ceremony, resp, Attempt{}); !errors.Is(err, ErrCeremony) {
		t.Errorf("registration ceremony finishing a sign-in: err = %v, want ErrCeremony", err)
	}
}

func TestSignInBumpsTheCounterAndLastUse(t *testing.T) {
	e := newPKEnv(t)
	alice := e.user(t, "alice", "Alice")
	k, f := e.register(t, alice, "Laptop")
	e.clock.Advance(time.Hour)

	used, err := e.signIn(t, alice, k)
	if err != nil {
		t.Fatal(err)
	}
	if used.ID != f.ID {
		t.Errorf("signed in with factor %+v, want %s", used, f.ID)
	}
	c := e.storedCredential(t, alice, f)
	if c.Authenticator.SignCount != 1 || c.Authenticator.CloneWarning {
		t.Errorf("stored counter %d clone warning %v, want 1, false", c.Authenticator.SignCount, c.Authenticator.CloneWarning)
	}
	factors, _ := e.dir.Factors(e.ctx, alice.ID)
	if !factors[0].LastUsed.Equal(e.clock.Now()) {
		t.Errorf("last used %v, want %v", factors[0].LastUsed, e.clock.Now())
	}
	events, err := e.dir.AuditEvents(e.ctx, directory.AuditQuery{Subject: "alice", Kind: "mfa"})
	if err != nil {
		t.Fatal(err)
	}
	last := events[len(events)-1]
	if last.Result != directory.ResultOK || last.Detail != "passkey:Laptop" || last.Remote != "192.0.2.7" || last.Service != "web" {
		t.Errorf("audit %+v", last)
	}

	k.counter += 41
	if _, err := e.signIn(t, alice, k); err != nil {
		t.Fatal(err)
	}
	if c := e.storedCredential(t, alice, f); c.Authenticator.SignCount != 43 {
		t.Errorf("stored counter %d, want 43", c.Authenticator.SignCount)
	}
}

func TestCounterThatDoesNotAdvanceRefusesThePasskey(t *testing.T) {
	e := newPKEnv(t)
	alice := e.user(t, "alice", "Alice")
	k, f := e.register(t, alice, "Laptop")
	k.counter = 10
	if _, err := e.signIn(t, alice, k); err != nil {
		t.Fatal(err)
	}
	// A copy of the key that signs with an older counter.
	k.counter = 5
	if _, err := e.signIn(t, alice, k); !errors.Is(err, ErrCloned) {
		t.Fatalf("counter went back: err = %v, want ErrCloned", err)
	}
	c := e.storedCredential(t, alice, f)
	if !c.Authenticator.CloneWarning || c.Authenticator.SignCount != 11 {
		t.Errorf("stored clone warning %v counter %d, want true, 11", c.Authenticator.CloneWarning, c.Authenticator.SignCount)
	}
	// The warning stays: whichever copy signs next is refused too.
	k.counter = 100
	if _, err := e.signIn(t, alice, k); !errors.Is(err, ErrCloned) {
		t.Errorf("after the warning: err = %v, want ErrCloned", err)
	}
	events, _ := e.dir.AuditEvents(e.ctx, directory.AuditQuery{Subject: "alice", Kind: "mfa"})
	if last := events[len(events)-1]; last.Result != resultCloned {
		t.Errorf("audit %+v, want %s", last, resultCloned)
	}

	// Authenticators without a counter (synced passkeys) always send 0.
	bob := e.user(t, "bob", "Bob")
	synced, _ := e.register(t, bob, "Phone")
	for range 2 {
		synced.counter = ^uint32(0) // get adds one: 0
		if _, err := e.signIn(t, bob, synced); err != nil {
			t.Fatalf("counter-less passkey: %v", err)
		}
	}
}

func TestConcurrentSignInsWithOneCounterValue(t *testing.T) {
	e := newPKEnv(t)
	alice := e.user(t, "alice", "Alice")
	k, _ := e.register(t, alice, "Laptop")
	// Two assertions carrying the same counter, as two copies of one key
	// would send: exactly one may pass, whatever the order.
	var responses [2][]byte
	var ceremonies [2]string
	for i := range responses {
		c, err := e.keys.beginLogin(e.ctx, purposeLogin, alice.ID, "flow", protocol.VerificationPreferred, nil)
		if err != nil {
			t.Fatal(err)
		}
		ceremonies[i] = c.Ceremony
		k.counter = 6
		responses[i] = k.sign(c.Options.(*protocol.CredentialAssertion).Response.Challenge)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range responses {
		wg.Go(func() {
			_, errs[i] = e.keys.finishLogin(e.ctx, purposeLogin, alice.ID, "flow", ceremonies[i], responses[i], Attempt{})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrCloned):
			t.Errorf("err = %v, want nil or ErrCloned", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of two sign-ins with one counter value passed, want 1", ok)
	}
}

func TestSignInRefusals(t *testing.T) {
	e := newPKEnv(t)
	alice := e.user(t, "alice", "Alice")
	bob := e.user(t, "bob", "Bob")
	if _, err := e.keys.beginLogin(e.ctx, purposeLogin, alice.ID, "flow", protocol.VerificationPreferred, nil); !errors.Is(err, ErrNoPasskey) {
		t.Errorf("no passkey: err = %v, want ErrNoPasskey", err)
	}
	ka, fa := e.register(t, alice, "Laptop")
	kb, _ := e.register(t, bob, "Laptop")

	// Bob's passkey does not sign in as Alice.
	if _, err := e.signIn(t, alice, kb); !errors.Is(err, ErrRefused) {
		t.Errorf("another user's passkey: err = %v, want ErrRefused", err)
	}
	// A key that signs with the wrong private key.
	forged := newSoftKey(t, pkOrigin, "id.example.com")
	forged.id, forged.handle = ka.id, ka.handle
	if _, err := e.signIn(t, alice, forged); !errors.Is(err, ErrRefused) {
		t.Errorf("forged signature: err = %v, want ErrRefused", err)
	}
	// Assertions for another origin or relying party.
	for _, evil := range []*softKey{
		{t: t, priv: ka.priv, id: ka.id, handle: ka.handle, origin: "https://evil.example.net", rpID: "id.example.com"},
		{t: t, priv: ka.priv, id: ka.id, handle: ka.handle, origin: pkOrigin, rpID: "evil.example.net"},
	} {
		if _, err := e.signIn(t, alice, evil); !errors.Is(err, ErrRefused) {
			t.Errorf("origin %s rp %s: err = %v, want ErrRefused", evil.origin, evil.rpID, err)
		}
	}
	// A ceremony of Alice's flow does not finish for another flow.
	c, err := e.keys.beginLogin(e.ctx, purposeLogin, alice.ID, "flow-1", protocol.VerificationPreferred, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.keys.finishLogin(e.ctx, purposeLogin, alice.ID, "flow-2", c.Ceremony, ka.get(c), Attempt{}); !errors.Is(err, ErrCeremony) {
		t.Errorf("other flow: err = %v, want ErrCeremony", err)
	}
	// A removed passkey no longer signs in.
	if err := e.dir.RemoveFactor(e.ctx, alice.ID, fa.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.keys.beginLogin(e.ctx, purposeLogin, alice.ID, "flow", protocol.VerificationPreferred, nil); !errors.Is(err, ErrNoPasskey) {
		t.Errorf("removed passkey: err = %v, want ErrNoPasskey", err)
	}
	k2, _ := e.register(t, alice, "Phone")
	// Past the backoff the refusals above earned.
	e.clock.Advance(time.Hour)
	if _, err := e.signIn(t, alice, ka); !errors.Is(err, ErrRefused) {
		t.Errorf("removed passkey beside another: err = %v, want ErrRefused", err)
	}
	if _, err := e.signIn(t, alice, k2); err != nil {
		t.Errorf("the remaining passkey: %v", err)
	}
	// A disabled user cannot use their passkey.
	if _, err := e.dir.SetDisabled(e.ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.keys.beginLogin(e.ctx, purposeLogin, alice.ID, "flow", protocol.VerificationPreferred, nil); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("disabled user: err = %v, want ErrBadCredentials", err)
	}
}

func TestFailedAssertionsCountInTheBackoff(t *testing.T) {
	e := newPKEnv(t)
	alice := e.user(t, "alice", "Alice")
	k, _ := e.register(t, alice, "Laptop")
	forged := newSoftKey(t, pkOrigin, "id.example.com")
	forged.id, forged.handle = k.id, k.handle
	var throttled *directory.ThrottledError
	for i := 0; ; i++ {
		_, err := e.signIn(t, alice, forged)
		if errors.As(err, &throttled) {
			break
		}
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("attempt %d: err = %v", i, err)
		}
		if i == 50 {
			t.Fatal("50 forged assertions and no backoff")
		}
	}
	// The right passkey waits too, until the backoff ends.
	if _, err := e.signIn(t, alice, k); !errors.As(err, &throttled) {
		t.Errorf("right passkey during backoff: err = %v, want throttled", err)
	}
	e.clock.Advance(time.Hour)
	if _, err := e.signIn(t, alice, k); err != nil {
		t.Errorf("after the backoff: %v", err)
	}
}

// BenchmarkSignIn measures one passkey second factor on the server: begin
// (load the passkeys, store the ceremony) and finish (take it, verify the
// signature, update the counter) on a real bbolt file.
func BenchmarkSignIn(b *testing.B) {
	e := newPKEnv(b)
	alice := e.user(b, "alice", "Alice")
	k, _ := e.register(b, alice, "Laptop")
	for i := range 4 {
		e.register(b, alice, fmt.Sprint("Key ", i))
	}
	b.ResetTimer()
	for b.Loop() {
		c, err := e.keys.beginLogin(e.ctx, purposeLogin, alice.ID, "flow", protocol.VerificationPreferred, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.keys.finishLogin(e.ctx, purposeLogin, alice.ID, "flow", c.Ceremony, k.get(c), Attempt{}); err != nil {
			b.Fatal(err)
		}
	}
}
