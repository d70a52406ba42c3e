package console_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/directory"
	chrome "github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/internal/samltest"
)

// TestCloudflareAppBrowser: in headless Chromium the admin adds
// Cloudflare Access by uploading an app's metadata file (an independent
// crewjam SP), allowed to the admins group; the app's page shows what to
// paste into it, and the admin downloads Atrium's metadata through the
// page. The SP, given only that downloaded file, completes a SAML login.
// Screenshots of the Apps pages and the Cloudflare guide at desktop and
// phone widths.
func TestCloudflareAppBrowser(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	sp := samltest.New(t)
	md, err := sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	upload := filepath.Join(t.TempDir(), "sp-metadata.xml")
	if err := os.WriteFile(upload, md, 0o600); err != nil {
		t.Fatal(err)
	}
	admin := tab{t, chrome.New(t)}
	st.signInAdmin(admin)
	admin.do("the apps", chromedp.Navigate(st.srv.URL+"/admin/apps"), chromedp.WaitVisible(chromedp.ID("rotation")))
	admin.shot("apps-empty")
	admin.do("the Cloudflare guide", chromedp.Navigate(st.srv.URL+"/admin/apps/guide/cloudflare"), chromedp.WaitVisible(chromedp.CSS("section.screen")))
	admin.shot("cloudflare-guide")
	admin.do("add Cloudflare Access from its metadata",
		chromedp.Click(chromedp.CSS(`a[href="/admin/apps/new?preset=cloudflare"]`)),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "cloudflare"),
		chromedp.SetUploadFiles(chromedp.ID("metadata"), []string{upload}),
		chromedp.SendKeys(chromedp.ID("groups"), "admins"),
	)
	admin.shot("app-new")
	admin.do("submit", chromedp.Submit(chromedp.ID("name")), chromedp.WaitVisible(chromedp.ID("paste")))
	admin.shot("app")
	app, err := st.d.App(context.Background(), "cloudflare")
	if err != nil || app.Preset != "cloudflare" || app.EntityID != sp.URL || len(app.ACS) == 0 || app.ACS[0].URL != sp.URL+"/acs" || !slices.Equal(app.Groups, []string{"admins"}) {
		t.Fatalf("the app as stored: %+v, %v", app, err)
	}
	if got := admin.text("#sso-url"); got != st.srv.URL+"/saml/sso" {
		t.Errorf("the page gives the SSO URL %q", got)
	}

	idpMetadata := download(t, admin, "#metadata-download", "atrium-idp-metadata.xml")
	if err := sp.UseIdP(idpMetadata); err != nil {
		t.Fatal(err)
	}
	admin.do("sign in to the app", chromedp.Navigate(sp.StartURL()), chromedp.WaitVisible(chromedp.ID("app")))
	landing := samltest.ReadLanding(t, admin.ctx)
	if landing.NameID != "admin@example.com" || !slices.Contains(landing.Groups, "admins") {
		t.Errorf("the app saw %+v; want admin@example.com in admins", landing)
	}
	admin.shot("signed-in-to-app")
	admin.do("the guide", chromedp.Navigate(st.srv.URL+"/admin/apps/guide/cloudflare"), chromedp.WaitVisible(chromedp.CSS("section.screen")))
	if guide := admin.text("main"); !strings.Contains(guide, st.srv.URL+"/saml/sso") || !strings.Contains(guide, "admins") {
		t.Errorf("the guide does not give this server's SSO URL and the app's group:\n%s", guide)
	}
	admin.do("the apps", chromedp.Navigate(st.srv.URL+"/admin/apps"), chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/apps/cloudflare"]`)))
	admin.shot("apps")
	admin.do("the delete page", chromedp.Navigate(st.srv.URL+"/admin/apps/cloudflare/delete"), chromedp.WaitVisible(chromedp.ID("confirm")))
	admin.shot("app-delete")

	admin.do("add an OIDC app",
		chromedp.Navigate(st.srv.URL+"/admin/apps/new-oidc"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "grafana"),
		chromedp.SetValue(chromedp.ID("preset"), "grafana"),
		chromedp.SendKeys(chromedp.ID("app_url"), "https://grafana.example"),
	)
	admin.shot("oidc-new")
	admin.do("submit", chromedp.Submit(chromedp.ID("name")), chromedp.WaitVisible(chromedp.ID("client-secret")))
	admin.shot("oidc-app")
}

// download clicks the link sel in b and returns the file the browser
// saved as name.
func download(t *testing.T, b tab, sel, name string) []byte {
	t.Helper()
	dir := t.TempDir()
	b.do("allow downloads", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
		return err
	}))
	b.do("download", chromedp.Click(chromedp.CSS(sel)))
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if raw, err := os.ReadFile(filepath.Join(dir, name)); err == nil && len(raw) > 0 {
			return raw
		}
	}
	t.Fatalf("the browser saved no %s", name)
	return nil
}
