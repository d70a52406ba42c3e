package main

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/internal/testenv"
)

var (
	mfaHiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	mfaSecretRE = regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`)
	mfaCodesRE  = regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`)
)

type mfaFactorRecord struct {
	ID, Kind, Name string
}

type mfaListRecord struct {
	UID               string            `json:"uid"`
	Required          bool              `json:"required"`
	RecoveryCodesLeft int               `json:"recoveryCodesLeft"`
	Factors           []mfaFactorRecord `json:"factors"`
}

// mfaSubmit posts the hidden fields of body's first form plus fields to
// /login, following redirects, and returns the final page.
func mfaSubmit(t *testing.T, c *http.Client, base, body string, fields url.Values) (int, string) {
	t.Helper()
	form := url.Values{}
	for _, m := range mfaHiddenRE.FindAllStringSubmatch(body, -1) {
		if form.Get(m[1]) == "" {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
	}
	for k, v := range fields {
		form[k] = v
	}
	resp, err := c.PostForm(base+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// mfaEnrollAtLogin signs uid in through the real login pages of a server
// whose policy requires MFA: password, then TOTP enrollment with a code
// from oathtool, then the recovery codes. It returns the TOTP secret.
func mfaEnrollAtLogin(t *testing.T, base, uid, pw string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return mfaEnroll(t, &http.Client{Jar: jar, Timeout: 10 * time.Second}, base, "/login", uid, pw)
}

// mfaEnroll is mfaEnrollAtLogin for the browser c, starting at the page
// start, which asks for the sign-in.
func mfaEnroll(t *testing.T, c *http.Client, base, start, uid, pw string) string {
	t.Helper()
	oathtool := testenv.Tool(t, "oathtool", "oathtool")
	resp, err := c.Get(base + start)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The console asks for the password again before an admin enrolls.
	status, enroll := http.StatusOK, string(body)
	for i := 0; i < 2 && strings.Contains(enroll, `name="password"`); i++ {
		status, enroll = mfaSubmit(t, c, base, enroll, url.Values{"username": {uid}, "password": {pw}})
	}
	m := mfaSecretRE.FindStringSubmatch(enroll)
	if status != http.StatusOK || m == nil {
		t.Fatalf("expected TOTP enrollment after the password, got %d:\n%s", status, enroll)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	out, err := exec.Command(oathtool, "--totp", "-b", secret).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	status, codes := mfaSubmit(t, c, base, enroll, url.Values{"code": {strings.TrimSpace(string(out))}})
	if status != http.StatusOK || len(mfaCodesRE.FindAllString(codes, -1)) != 10 {
		t.Fatalf("expected 10 recovery codes, got %d:\n%s", status, codes)
	}
	if status, home := mfaSubmit(t, c, base, codes, nil); status != http.StatusOK || strings.Contains(home, `name="password"`) {
		t.Fatalf("expected to be signed in, got %d:\n%s", status, home)
	}
	return secret
}

// The policy comes from configuration (mfa.require, and
// ldap.app_password_only_groups over LDAP); a user it covers is
// taken through enrollment at login; `user mfa list` shows the factor and
// never its secret, and `user mfa reset` removes it (audited), with and
// without a running server, after which the next login enrolls again.
func TestUserMFACommands(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "atrium.yaml")
	if err := os.WriteFile(cfgFile, []byte("mfa:\n  require: groups\n  groups: [staff]\nldap:\n  app_password_only_groups: [staff]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testEnv("ATRIUM_CONFIG=" + cfgFile)
	tr := &transcript{}
	c := &cli{data: filepath.Join(dir, "data"), env: env, tr: tr}
	c.okIn(t, "alice-password\n", "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	c.ok(t, "group", "add", "staff")
	c.ok(t, "group", "add-member", "staff", "alice")
	if l := decodeJSON[mfaListRecord](t, c.ok(t, "user", "mfa", "list", "alice", "--json")); !l.Required || len(l.Factors) != 0 {
		t.Fatalf("before enrollment: %+v", l)
	}
	c.fails(t, exitNotFound, "user", "mfa", "list", "nobody")
	nas := decodeJSON[map[string]string](t, c.ok(t, "app-password", "add", "alice", "nas", "--json"))["password"]

	srv := startServer(t, c.data, env, tr)
	c.served = true
	base := "http://" + srv.httpAddr
	t.Run("staff bind over LDAP with app passwords only", func(t *testing.T) {
		mustNotBind(t, srv.ldapAddr, userDN("alice"), "alice-password")
		mustBind(t, srv.ldapAddr, userDN("alice"), nas)
	})
	secret := mfaEnrollAtLogin(t, base, "alice", "alice-password")

	t.Run("list with a server", func(t *testing.T) {
		table := c.ok(t, "user", "mfa", "list", "alice")
		if !strings.Contains(table, "totp") || !strings.Contains(table, "Authenticator app") || !strings.Contains(table, "Recovery codes left: 10") || !strings.Contains(table, "required by policy: yes") {
			t.Errorf("user mfa list:\n%s", table)
		}
		raw := c.ok(t, "user", "mfa", "list", "alice", "--json")
		l := decodeJSON[mfaListRecord](t, raw)
		if l.UID != "alice" || len(l.Factors) != 1 || l.Factors[0].Kind != "totp" || l.RecoveryCodesLeft != 10 {
			t.Errorf("user mfa list --json: %s", raw)
		}
	})
	t.Run("reset with a server", func(t *testing.T) {
		if out := c.ok(t, "user", "mfa", "reset", "alice"); !strings.Contains(out, "Removed 1 second factors") {
			t.Errorf("user mfa reset: %s", out)
		}
		if l := decodeJSON[mfaListRecord](t, c.ok(t, "user", "mfa", "list", "alice", "--json")); len(l.Factors) != 0 || l.RecoveryCodesLeft != 0 {
			t.Errorf("after reset: %+v", l)
		}
	})
	// The next login enrolls again: MFA is still required.
	secret2 := mfaEnrollAtLogin(t, base, "alice", "alice-password")
	srv.stop(t)
	c.served = false

	t.Run("without a server", func(t *testing.T) {
		if l := decodeJSON[mfaListRecord](t, c.ok(t, "user", "mfa", "list", "alice", "--json")); len(l.Factors) != 1 {
			t.Fatalf("list without a server: %+v", l)
		}
		c.ok(t, "user", "mfa", "reset", "alice")
		if l := decodeJSON[mfaListRecord](t, c.ok(t, "user", "mfa", "list", "alice", "--json")); len(l.Factors) != 0 {
			t.Errorf("after reset without a server: %+v", l)
		}
		var events []struct{ Kind, Subject, Service, Result string }
		if err := json.Unmarshal([]byte(c.ok(t, "audit", "--user", "alice", "--json")), &events); err != nil {
			t.Fatal(err)
		}
		resets := 0
		for _, e := range events {
			if e.Kind == "mfa" && e.Result == "reset" && e.Service == "cli" {
				resets++
			}
		}
		if resets != 2 {
			t.Errorf("%d audited resets, want 2: %+v", resets, events)
		}
	})
	for _, s := range []string{secret, secret2} {
		if n := tr.count(s); n != 0 {
			t.Errorf("a TOTP secret was printed %d times by the commands or the server", n)
		}
	}
}

func TestRequireMFAFlagAndConfigChecks(t *testing.T) {
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: testEnv(), tr: &transcript{}}
	c.ok(t, "app", "add", "grafana", "--entity-id", "https://grafana.example/", "--acs", "https://grafana.example/acs", "--require-mfa")
	if show := c.ok(t, "app", "show", "grafana"); !regexp.MustCompile(`Require MFA:\s+yes`).MatchString(show) {
		t.Errorf("app show:\n%s", show)
	}

	bad := &cli{data: c.data, env: testEnv("ATRIUM_MFA_REQUIRE=sometimes"), tr: c.tr}
	r := bad.fails(t, exitError, "config", "check")
	if !strings.Contains(r.stdout, `mfa.require: "sometimes" must be none, all or groups`) {
		t.Errorf("config check:\n%s", r.stdout)
	}
	noGroups := &cli{data: c.data, env: testEnv("ATRIUM_MFA_REQUIRE=groups"), tr: c.tr}
	if r := noGroups.fails(t, exitError, "config", "check"); !strings.Contains(r.stdout, "mfa.groups: mfa.require is groups") {
		t.Errorf("config check:\n%s", r.stdout)
	}
	good := &cli{data: c.data, env: testEnv("ATRIUM_MFA_REQUIRE=groups", "ATRIUM_MFA_GROUPS=staff, admins", "ATRIUM_LDAP_APP_PASSWORD_ONLY_GROUPS=nas-users"), tr: c.tr}
	cfg := decodeJSON[Config](t, good.ok(t, "config", "check", "--json"))
	if cfg.MFA.Require != "groups" || len(cfg.MFA.Groups) != 2 || cfg.MFA.Groups[1] != "admins" || len(cfg.LDAP.AppPasswordOnlyGroups) != 1 {
		t.Errorf("config check --json: %+v %+v", cfg.MFA, cfg.LDAP)
	}
}
