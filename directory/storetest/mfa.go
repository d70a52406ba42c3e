package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/totp"
)

// testSecondFactors checks that factor records keep the directory's
// promises on this backend: sealed secrets updated without lost writes,
// each TOTP code accepted once however many logins race with it, and
// factors gone with their user.
func testSecondFactors(t *testing.T, open Opener) {
	ctx := context.Background()
	key := make([]byte, directory.SecretKeySize)
	rand.Read(key)
	d, err := directory.New(ctx, open(t), directory.Options{PasswordParams: password.TestParams, SecretKey: key})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	u, err := d.CreateUser(ctx, directory.User{UID: "mfa", Mail: "mfa@example.com"})
	must(t, err)

	pk, err := d.AddFactor(ctx, u.ID, directory.Factor{Kind: directory.FactorPasskey, Name: "Key"}, []byte("0"))
	must(t, err)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			err := d.UpdateFactorSecret(ctx, u.ID, pk.ID, func(old []byte) ([]byte, error) {
				n, err := strconv.Atoi(string(old))
				return []byte(strconv.Itoa(n + 1)), err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if s, err := d.FactorSecret(ctx, u.ID, pk.ID); err != nil || string(s) != "20" {
		t.Errorf("after 20 concurrent updates the secret is %q (%v), want 20", s, err)
	}

	secret, err := d.BeginTOTP(ctx, u.ID)
	must(t, err)
	step := totp.Step(d.Now())
	code, _ := totp.CodeAt(secret, step)
	_, err = d.ConfirmTOTP(ctx, u.ID, "Phone", code, "192.0.2.1")
	must(t, err)
	// The next step's code is within the skew; ten logins race with it.
	next, _ := totp.CodeAt(secret, step+1)
	var accepted atomic.Int32
	for i := range 10 {
		wg.Go(func() {
			err := d.VerifyTOTP(ctx, u.ID, next, fmt.Sprintf("192.0.2.%d", 10+i), "test")
			switch {
			case err == nil:
				accepted.Add(1)
			case !errors.Is(err, directory.ErrBadCode):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := accepted.Load(); n != 1 {
		t.Errorf("one TOTP code was accepted %d times by concurrent logins, want once", n)
	}

	must(t, d.DeleteUser(ctx, "mfa"))
	if _, err := d.FactorSecret(ctx, u.ID, pk.ID); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("a factor outlived its user: %v", err)
	}
}
