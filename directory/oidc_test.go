package directory_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
)

func oidcTestDir(t *testing.T) (*directory.Directory, *clock, directory.User) {
	t.Helper()
	c := dirtest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	d := newTestDir(t, c, directory.Options{SecretKey: bytes.Repeat([]byte{7}, 32)})
	u, err := d.CreateUser(context.Background(), directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	return d, c, u
}

func TestOIDCClientSecretShownOnceAndRotated(t *testing.T) {
	d, _, _ := oidcTestDir(t)
	ctx := context.Background()
	app, secret, err := d.CreateOIDCApp(ctx, directory.App{Name: "grafana", OIDC: &directory.OIDCClient{RedirectURIs: []string{"https://grafana.example/login/generic_oauth"}}})
	must(t, err)
	if secret == "" || app.OIDC.ClientID == "" {
		t.Fatalf("no secret or client ID: %+v", app)
	}
	must(t, d.CheckClientSecret(ctx, app.OIDC.ClientID, secret))
	if err := d.CheckClientSecret(ctx, app.OIDC.ClientID, secret+"x"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("wrong secret: %v", err)
	}
	again, err := d.AppByClientID(ctx, app.OIDC.ClientID)
	must(t, err)
	if again.Name != "grafana" {
		t.Fatalf("by client ID: %+v", again)
	}
	newSecret, err := d.RotateClientSecret(ctx, "grafana")
	must(t, err)
	if err := d.CheckClientSecret(ctx, app.OIDC.ClientID, secret); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("old secret still works after rotation: %v", err)
	}
	must(t, d.CheckClientSecret(ctx, app.OIDC.ClientID, newSecret))

	pub, secret, err := d.CreateOIDCApp(ctx, directory.App{Name: "spa", OIDC: &directory.OIDCClient{Public: true, RedirectURIs: []string{"http://127.0.0.1:3000/cb"}}})
	must(t, err)
	if secret != "" {
		t.Fatal("a public client got a secret")
	}
	if err := d.CheckClientSecret(ctx, pub.OIDC.ClientID, ""); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("public client authenticated with an empty secret: %v", err)
	}
	for _, bad := range []string{"/relative", "https://x.example/cb#frag", "ftp://x.example/", "https://user:pw@x.example/"} {
		if _, _, err := d.CreateOIDCApp(ctx, directory.App{Name: "bad", OIDC: &directory.OIDCClient{RedirectURIs: []string{bad}}}); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("redirect URI %q accepted: %v", bad, err)
		}
	}
	if _, err := d.CreateApp(ctx, directory.App{Name: "mixed", EntityID: "e", ACS: []directory.Endpoint{{URL: "https://x/"}}, OIDC: &directory.OIDCClient{}}); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("CreateApp took an OIDC app: %v", err)
	}
	must(t, d.DeleteApp(ctx, "grafana"))
	if _, err := d.AppByClientID(ctx, app.OIDC.ClientID); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("deleted client still found: %v", err)
	}
}

// signedInRequest stores a request whose user has signed in and gives it a code.
func signedInRequest(t *testing.T, d *directory.Directory, c *clock, u directory.User, id, code string) {
	t.Helper()
	ctx := context.Background()
	must(t, d.PutOIDCRequest(ctx, directory.OIDCRequest{ID: id, ClientID: "c1"}, 15*time.Minute))
	must(t, d.CompleteOIDCRequest(ctx, id, u.ID, c.Now(), []string{"pwd"}))
	must(t, d.SaveOIDCCode(ctx, id, code))
}

func issue(t *testing.T, d *directory.Directory, u directory.User, grant, rotate string) (string, string) {
	t.Helper()
	at, _, rt, err := d.IssueOIDCTokens(context.Background(), directory.OIDCIssue{
		Grant:   directory.OIDCGrant{ID: grant, ClientID: "c1", UserID: u.ID, Scopes: []string{"openid", "offline_access"}, AuthTime: d.Now().Add(-time.Second)},
		Refresh: true, Rotate: rotate, AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour,
	})
	must(t, err)
	return at, rt
}

func TestOIDCCodeIsSingleUseAndReuseRevokesItsTokens(t *testing.T) {
	d, c, u := oidcTestDir(t)
	ctx := context.Background()
	signedInRequest(t, d, c, u, "req1", "code1")
	req, err := d.OIDCCode(ctx, "code1")
	must(t, err)
	at, rt := issue(t, d, u, req.ID, "")
	if _, _, err := d.OIDCAccessToken(ctx, at); err != nil {
		t.Fatalf("fresh access token: %v", err)
	}
	if _, err := d.OIDCCode(ctx, "code1"); !errors.Is(err, directory.ErrRevoked) {
		t.Fatalf("second use of a code: %v", err)
	}
	if _, _, err := d.OIDCAccessToken(ctx, at); err == nil {
		t.Fatal("access token from a reused code still works")
	}
	if _, _, err := d.OIDCRefreshToken(ctx, rt); err == nil {
		t.Fatal("refresh token from a reused code still works")
	}

	signedInRequest(t, d, c, u, "req2", "code2")
	c.Advance(directory.CodeTTL + time.Second)
	if _, err := d.OIDCCode(ctx, "code2"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("expired code: %v", err)
	}
}

func TestOIDCRefreshRotationAndFamilyRevocation(t *testing.T) {
	d, c, u := oidcTestDir(t)
	ctx := context.Background()
	signedInRequest(t, d, c, u, "req1", "code1")
	_, err := d.OIDCCode(ctx, "code1")
	must(t, err)
	_, rt1 := issue(t, d, u, "req1", "")
	_, g, err := d.OIDCRefreshToken(ctx, rt1)
	must(t, err)
	at2, rt2 := issue(t, d, u, g.ID, rt1)
	if _, _, err := d.OIDCRefreshToken(ctx, rt1); !errors.Is(err, directory.ErrRevoked) {
		t.Fatalf("rotated refresh token used again: %v", err)
	}
	for name, check := range map[string]func() error{
		"new refresh": func() error { _, _, err := d.OIDCRefreshToken(ctx, rt2); return err },
		"new access":  func() error { _, _, err := d.OIDCAccessToken(ctx, at2); return err },
	} {
		if err := check(); !errors.Is(err, directory.ErrRevoked) {
			t.Errorf("%s token after the old one was replayed: %v", name, err)
		}
	}
}

func TestOIDCTokensEndWithTheUser(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(d *directory.Directory, u directory.User) error
	}{
		{"disabled", func(d *directory.Directory, u directory.User) error {
			if _, err := d.SetDisabled(context.Background(), u.UID, true); err != nil {
				return err
			}
			_, err := d.SetDisabled(context.Background(), u.UID, false) // enabling again brings nothing back
			return err
		}},
		{"password changed", func(d *directory.Directory, u directory.User) error {
			return d.SetPassword(context.Background(), u.UID, "a new long passphrase")
		}},
		{"signed out everywhere", func(d *directory.Directory, u directory.User) error {
			return d.RevokeUserOIDC(context.Background(), u.ID)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, c, u := oidcTestDir(t)
			ctx := context.Background()
			signedInRequest(t, d, c, u, "req1", "code1")
			_, err := d.OIDCCode(ctx, "code1")
			must(t, err)
			_, rt := issue(t, d, u, "req1", "")
			c.Advance(time.Second)
			if tc.name == "disabled" {
				// Seen while disabled, the grant is revoked for good.
				_, err := d.SetDisabled(ctx, u.UID, true)
				must(t, err)
				if _, _, err := d.OIDCRefreshToken(ctx, rt); !errors.Is(err, directory.ErrRevoked) {
					t.Fatalf("refresh while disabled: %v", err)
				}
			}
			must(t, tc.change(d, u))
			if _, _, err := d.OIDCRefreshToken(ctx, rt); !errors.Is(err, directory.ErrRevoked) {
				t.Fatalf("refresh token after the user was %s: %v", tc.name, err)
			}
		})
	}
}

func TestOIDCRevokeRefreshEndsGrant(t *testing.T) {
	d, c, u := oidcTestDir(t)
	ctx := context.Background()
	signedInRequest(t, d, c, u, "req1", "code1")
	_, err := d.OIDCCode(ctx, "code1")
	must(t, err)
	at, rt := issue(t, d, u, "req1", "")
	must(t, d.RevokeOIDCRefresh(ctx, rt, "other-client")) // not its client: no effect
	if _, _, err := d.OIDCRefreshToken(ctx, rt); err != nil {
		t.Fatalf("another client revoked the token: %v", err)
	}
	must(t, d.RevokeOIDCRefresh(ctx, rt, "c1"))
	if _, _, err := d.OIDCAccessToken(ctx, at); !errors.Is(err, directory.ErrRevoked) {
		t.Fatalf("access token after its refresh token was revoked: %v", err)
	}
}
