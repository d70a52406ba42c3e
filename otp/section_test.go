package otp_test

import (
	"context"
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/otp"
	"github.com/atrium-dir/atrium/portal"
	"github.com/atrium-dir/atrium/signin"
)

// otherFactor stands for the section of another kind of factor (passkeys).
type otherFactor struct{}

func (otherFactor) ID() string               { return "passkeys" }
func (otherFactor) Title() string            { return "Passkeys" }
func (otherFactor) NeedsSecureContext() bool { return false }
func (otherFactor) Render(context.Context, signin.Account) (template.HTML, error) {
	return "<p>passkeys here</p>", nil
}

// section is the HTML of the page's section with id, or fails.
func section(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `<section id="`+id+`">`)
	if i < 0 {
		t.Fatalf("no %s section:\n%s", id, page)
	}
	return page[i : i+strings.Index(page[i:], "</section>")]
}

// The authenticator app's and the recovery codes' sections are drawn by
// the real self-service page, with its CSRF token, linked from its menu:
// the app's before other factors' sections, the recovery codes' after
// them, since they stand in for every factor.
func TestSectionsOnThePage(t *testing.T) {
	ctx := context.Background()
	d, srv := ssServe(t, time.Now, otherFactor{})
	b := ssSignIn(t, srv, "alice")
	page := b.page()
	csrf := b.csrf()

	app := section(t, page, "authenticator")
	for _, want := range []string{`<h2>Authenticator app</h2>`, `<form method="post" action="/account/totp">`, `name="csrf" value="` + csrf + `"`, "Add an authenticator app"} {
		if !strings.Contains(app, want) {
			t.Errorf("app section lacks %q:\n%s", want, app)
		}
	}
	recovery := section(t, page, "recovery")
	if !strings.Contains(recovery, "<h2>Recovery codes</h2>") || !strings.Contains(recovery, "come with your first sign-in method") || strings.Contains(recovery, "<form") {
		t.Errorf("recovery section before a first factor:\n%s", recovery)
	}
	for _, link := range []string{`<a href="#authenticator">Authenticator app</a>`, `<a href="#recovery">Recovery codes</a>`} {
		if !strings.Contains(page, link) {
			t.Errorf("menu lacks %s", link)
		}
	}
	order := []string{`id="factors"`, `id="authenticator"`, `id="passkeys"`, `id="recovery"`, `id="app-passwords"`}
	for i := 1; i < len(order); i++ {
		if strings.Index(page, order[i-1]) > strings.Index(page, order[i]) {
			t.Errorf("%s comes after %s", order[i-1], order[i])
		}
	}

	// With a factor and no codes yet (a passkey's first), the section
	// offers them and warns.
	u, _ := d.User(ctx, "alice")
	if _, err := d.AddFactor(ctx, u.ID, directory.Factor{Kind: directory.FactorPasskey, Name: "Laptop"}, nil); err != nil {
		t.Fatal(err)
	}
	recovery = section(t, b.page(), "recovery")
	for _, want := range []string{"You have <strong>0</strong> unused recovery codes", "Few recovery codes are left", `action="/account/recovery-codes"`, `name="csrf" value="` + csrf + `"`} {
		if !strings.Contains(recovery, want) {
			t.Errorf("recovery section with a factor lacks %q:\n%s", want, recovery)
		}
	}
}

// The sections are the page's; otp itself does not import portal.
var (
	_ portal.AccountSection = otp.AppSection{}
	_ portal.AccountSection = otp.RecoverySection{}
)
