package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/atrium-dir/atrium/directory"
)

//go:embed layout.html message.html
var chrome embed.FS

//go:embed assets
var assets embed.FS

// Assets serves the shared style sheets and scripts; mount it at /assets/.
func Assets() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	return http.StripPrefix("/assets/", http.FileServerFS(sub))
}

// Page is the data of every page. The layout reads the fields; the page's
// own template reads Data, which each front end types for its page.
type Page struct {
	Title string
	// Error is a refusal shown under the heading.
	Error string
	// Message is the one sentence of message.html.
	Message string
	// Link is where a message page's one button goes, if it has one.
	Link *Link
	// Wide is the self-service card, which draws its own heading.
	Wide bool
	// Styles are style sheets after the shared one.
	Styles []string
	// Manifest and Icon offer the page as a web app a phone may install.
	Manifest, Icon string
	Data           any
}

// Link is a message page's button.
type Link struct{ Href, Text string }

// Renderer renders one front end's templates inside the shared layout.
type Renderer struct {
	t   *template.Template
	log *slog.Logger
}

// NewRenderer parses the layout, message.html and the templates in pages
// that match patterns. The templates are embedded, so an error is a bug:
// it panics at start-up rather than at the first page.
func NewRenderer(log *slog.Logger, pages fs.FS, patterns ...string) *Renderer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := template.Must(template.New("").ParseFS(chrome, "layout.html", "message.html"))
	if pages != nil {
		t = template.Must(t.ParseFS(pages, patterns...))
	}
	return &Renderer{t: t, log: log}
}

// Render runs template name with p into a buffer, and only then writes
// status and the page. A template error is logged and answered with a
// plain 500, never with part of the page.
func (rd *Renderer) Render(w http.ResponseWriter, status int, name string, p Page) {
	var buf bytes.Buffer
	if err := rd.t.ExecuteTemplate(&buf, name, p); err != nil {
		rd.log.Error("render page", "page", name, "err", err)
		http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// Fragment runs template name with data and returns its HTML, for a part
// of a page that another package draws around it.
func (rd *Renderer) Fragment(name string, data any) (template.HTML, error) {
	var buf bytes.Buffer
	if err := rd.t.ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return template.HTML(buf.String()), nil
}

// Message answers with a plain page: a title and one sentence.
func (rd *Renderer) Message(w http.ResponseWriter, status int, title, message string) {
	rd.Render(w, status, "message.html", Page{Title: title, Message: message})
}

// Fail logs err and tells the user, plainly, that the fault is Atrium's:
// 503 while the store is unavailable (try again soon), 500 otherwise.
func (rd *Renderer) Fail(w http.ResponseWriter, what string, err error) {
	if errors.Is(err, directory.ErrUnavailable) {
		rd.log.Warn(what, "err", err)
		w.Header().Set("Retry-After", "5")
		rd.Message(w, http.StatusServiceUnavailable, "Try again in a moment", "Atrium cannot reach its database right now. Try again in a moment.")
		return
	}
	rd.log.Error(what, "err", err)
	rd.Message(w, http.StatusInternalServerError, "Something went wrong", "Something went wrong on our side. Try again in a moment.")
}

// JSON answers a script with v as JSON.
func JSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
