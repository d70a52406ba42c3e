package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// Timeout bounds everything one test does in its browser: a hung page fails
// the test in a minute instead of stalling the run until go test's own limit.
const Timeout = 60 * time.Second

// The desktop size is the window New opens; the phone size is an iPhone 12-15.
const (
	desktopWidth, desktopHeight = 1280, 800
	phoneWidth, phoneHeight     = 390, 844
)

// New starts a fresh headless Chromium with its own temporary profile and
// returns the context of its first tab, for chromedp actions. The context
// ends after Timeout; the browser and all its child processes stop and the
// profile is removed when the test ends, whether it passed or failed.
//
// A missing Chromium skips the test, or fails it under CI=true.
func New(t testing.TB) context.Context {
	t.Helper()
	path := chromiumPath(t)

	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	// Without a user-data-dir option chromedp makes a fresh temporary profile,
	// and on exit kills the leftover children that use it and removes it.
	allocCtx, allocCancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Without these Chromium reaches out to Google's services, and on
		// a machine without that network it refuses its own connections.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.WindowSize(desktopWidth, desktopHeight),
	)
	t.Cleanup(allocCancel)
	tabCtx, tabCancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		// Cancel closes the browser gracefully and waits for it to exit;
		// allocCancel (run next) kills it if that did not work.
		_ = chromedp.Cancel(tabCtx)
		tabCancel()
	})
	// Run no action: this starts the browser now, so a browser that cannot
	// start fails here with a clear message rather than at the first step.
	if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return tabCtx
}

func chromiumPath(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("chromium"); err != nil {
		if _, err := os.Stat("/usr/bin/chromium"); err == nil {
			return "/usr/bin/chromium"
		}
	}
	return testenv.Tool(t, "chromium", "chromium")
}

// Screenshot saves two full-page PNGs of the page in ctx (a context from New):
// one at desktop width (1280x800) and one at phone width (390x844, as a
// mobile device), as test-artifacts/screenshots/<test name>/<name>-desktop.png
// and <name>-phone.png at the repository root, and logs their paths. The
// page returns to the desktop size afterwards. It must be called from the
// test's goroutine: on error it fails the test with t.Fatalf.
func Screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	dir, err := screenshotDir(t.Name())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	sizes := []struct {
		label  string
		action chromedp.Action[chromedp.Void]
	}{
		{"desktop", chromedp.EmulateViewport(desktopWidth, desktopHeight)},
		{"phone", chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))},
	}
	for _, size := range sizes {
		if err := chromedp.Do(ctx, size.action); err != nil {
			t.Fatalf("screenshot %s: set %s size: %v", name, size.label, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s at %s size: %v", name, size.label, err)
		}
		file := filepath.Join(dir, safeName(name)+"-"+size.label+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		t.Logf("screenshot: %s", file)
	}
	if err := chromedp.Do(ctx, chromedp.ResetViewport()); err != nil {
		t.Fatalf("screenshot %s: reset size: %v", name, err)
	}
}

// screenshotDir makes and returns the folder for testName's screenshots; a
// subtest's folder sits inside its parent's.
func screenshotDir(testName string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	parts := []string{root, "test-artifacts", "screenshots"}
	for part := range strings.SplitSeq(testName, "/") {
		parts = append(parts, safeName(part))
	}
	dir := filepath.Join(parts...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("make screenshot folder: %w", err)
	}
	return dir, nil
}

// repoRoot is the nearest folder above the working directory (a test's
// package folder) that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeName keeps a file name to letters, digits, dot, dash and underscore, so
// no test or screenshot name can leave the screenshots folder.
func safeName(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	s = strings.TrimLeft(s, ".")
	if s == "" {
		return "_"
	}
	return s
}
