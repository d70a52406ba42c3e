package passkey

import "testing"

// FuzzResponse feeds what a browser could post as a registration (first
// byte even) or sign-in (odd) response to the checks of both ceremonies:
// whatever it is, the answer is an error, never a panic and never a
// passkey.
func FuzzResponse(f *testing.F) {
	e := newPKEnv(f)
	alice := e.user(f, "alice", "Alice")
	k, _ := e.register(f, alice, "Laptop")
	u, err := e.keys.loadUser(e.ctx, alice.ID)
	if err != nil {
		f.Fatal(err)
	}
	_, register, err := e.keys.wa.BeginRegistration(u)
	if err != nil {
		f.Fatal(err)
	}
	_, login, err := e.keys.wa.BeginLogin(u)
	if err != nil {
		f.Fatal(err)
	}
	// Seeds: well-formed responses to other ceremonies' challenges, and
	// their broken halves.
	creation, _, err := e.keys.wa.BeginRegistration(u)
	if err != nil {
		f.Fatal(err)
	}
	assertion, _, err := e.keys.wa.BeginLogin(u)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{
		newSoftKey(f, pkOrigin, "id.example.com").create(Challenge{Options: creation}),
		k.get(Challenge{Options: assertion}),
	} {
		for _, kind := range []byte{0, 1} {
			f.Add(append([]byte{kind}, seed...))
			f.Add(append([]byte{kind}, seed[:len(seed)/2]...))
		}
	}
	f.Add([]byte{1, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		if data[0]%2 == 0 {
			if cred, err := e.keys.verifyAttestation(u, *register, data[1:]); err == nil {
				t.Fatalf("registration accepted %q: credential %x", data[1:], cred.ID)
			}
			return
		}
		if _, _, _, err := e.keys.verifyAssertion(u, *login, data[1:]); err == nil {
			t.Fatalf("sign-in accepted %q", data[1:])
		}
	})
}
