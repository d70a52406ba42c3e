package browser_test

import (
	"bytes"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/internal/browser"
)

// The viewport line makes a phone lay the page out at its own width.
const head = `<!doctype html><html><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>browser test</title></head>`

func TestNewDrivesAPageAndScreenshots(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(head + `<body><form action="/done" method="post"><input id="who" name="who"><button>Go</button></form></body></html>`))
	})
	mux.HandleFunc("POST /done", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(head + `<body><p id="hello">hello ` + html.EscapeString(r.PostFormValue("who")) + `</p></body></html>`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := browser.New(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL),
		chromedp.SendKeys(chromedp.ID("who"), "alice"),
		chromedp.Submit(chromedp.ID("who")),
		chromedp.WaitVisible(chromedp.ID("hello")),
	); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("hello")))
	if err != nil {
		t.Fatal(err)
	}
	if got != "hello alice" {
		t.Fatalf("page says %q, want %q", got, "hello alice")
	}

	// The name tries to leave the folder; it must not.
	browser.Screenshot(t, ctx, "../hello page")
	for file, wantWidth := range map[string]int{
		"_hello_page-desktop.png": 1280,
		"_hello_page-phone.png":   2 * 390,
	} {
		path := filepath.Join("..", "..", "test-artifacts", "screenshots", "TestNewDrivesAPageAndScreenshots", file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if cfg.Width != wantWidth {
			t.Errorf("%s is %d pixels wide, want %d", path, cfg.Width, wantWidth)
		}
	}
}
