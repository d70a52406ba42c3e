package web_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/web"
)

var pages = fstest.MapFS{
	"ok.html":    {Data: []byte(`{{template "head" .}}<p id="body">{{.Data}}</p>{{template "foot" .}}`)},
	"break.html": {Data: []byte(`{{template "head" .}}<p id="first-half">started</p>{{index .Data 3}}{{template "foot" .}}`)},
}

func TestRenderWritesThePage(t *testing.T) {
	rd := web.NewRenderer(nil, pages, "*.html")
	w := httptest.NewRecorder()
	rd.Render(w, http.StatusAccepted, "ok.html", web.Page{Title: "Hello", Data: "body"})
	if w.Code != http.StatusAccepted {
		t.Errorf("status %d, want 202", w.Code)
	}
	for _, want := range []string{"<title>Hello · Atrium</title>", `<h1>Hello</h1>`, `<p id="body">body</p>`, "</html>"} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("page lacks %q:\n%s", want, w.Body)
		}
	}
}

// A template that fails halfway must not send the half it rendered, nor the
// status the page asked for: the user gets a plain 500, the log the cause.
func TestRenderFailingTemplateSendsPlain500(t *testing.T) {
	var logged bytes.Buffer
	rd := web.NewRenderer(slog.New(slog.NewTextHandler(&logged, nil)), pages, "*.html")
	w := httptest.NewRecorder()
	rd.Render(w, http.StatusOK, "break.html", web.Page{Title: "Broken", Data: []int{1}})
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", w.Code)
	}
	body := w.Body.String()
	for _, partial := range []string{"first-half", "<html", "Broken"} {
		if strings.Contains(body, partial) {
			t.Errorf("the 500 carries part of the page (%q):\n%s", partial, body)
		}
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want a plain answer", ct)
	}
	if !strings.Contains(logged.String(), "break.html") {
		t.Errorf("the failure is not logged with the page's name: %q", logged.String())
	}
}

func TestProtectHeadersAndPanic(t *testing.T) {
	h := web.Protect(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(errors.New("boom")) }), nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", w.Code)
	}
	if got := w.Header().Get("Content-Security-Policy"); got != web.DefaultCSP {
		t.Errorf("CSP %q", got)
	}
	if w.Header().Get("X-Frame-Options") != "DENY" {
		t.Error("no X-Frame-Options")
	}
}

// A panic on a request with a 60 KB path logs a short line.
func TestProtectPanicLogClipped(t *testing.T) {
	var logged bytes.Buffer
	h := web.Protect(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(strings.Repeat("v", 60<<10)) }), slog.New(slog.NewTextHandler(&logged, nil)))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/"+strings.Repeat("p", 60<<10), nil))
	if logged.Len() == 0 || logged.Len() >= 1024 {
		t.Errorf("the panic logged %d bytes, want some and < 1 KB", logged.Len())
	}
}

// A store without quorum is a passing state: the user is told to retry
// (503 with Retry-After), while any other failure stays a 500.
func TestFailUnavailableStoreIs503(t *testing.T) {
	rd := web.NewRenderer(nil, pages, "*.html")
	w := httptest.NewRecorder()
	rd.Fail(w, "save", fmt.Errorf("update: %w", directory.ErrUnavailable))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("unavailable store: status %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	w = httptest.NewRecorder()
	rd.Fail(w, "save", errors.New("disk on fire"))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("other failure: status %d, want 500", w.Code)
	}
}
