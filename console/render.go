package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// view is the data of every console page: the layout's navigation reads
// Admin and Section, the page's own template reads Data.
type view struct {
	Admin         signin.Account
	Section       string
	Notice, Error string
	Data          any
}

// show renders a console page. Scripts from Atrium's own origin may
// enhance it (search as you type, the member picker); no inline script.
func (c *Console) show(w http.ResponseWriter, status int, name, title string, v view) {
	w.Header().Set("Content-Security-Policy", web.ScriptCSP)
	c.pages.Render(w, status, name, web.Page{
		Title: title, Wide: true, Data: v,
		Styles: []string{"/assets/account.css", "/admin/assets/console.css"},
	})
}

// refusal words a directory error for the admin; ok is false for an error
// that is Atrium's own fault, which the caller logs.
func refusal(err error) (status int, message string, ok bool) {
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return http.StatusNotFound, "Not found: " + plain(err), true
	case errors.Is(err, directory.ErrAlreadyExists), errors.Is(err, directory.ErrConflict):
		return http.StatusConflict, "Not done: " + plain(err), true
	case errors.Is(err, directory.ErrInvalid), errors.Is(err, directory.ErrNotPermitted):
		return http.StatusBadRequest, "Not done: " + plain(err), true
	}
	return 0, "", false
}

// plain is err's message without the sentinel it ends with ("…: invalid"),
// which says nothing to a person.
func plain(err error) string {
	msg := err.Error()
	for _, s := range []error{directory.ErrNotFound, directory.ErrAlreadyExists, directory.ErrConflict, directory.ErrInvalid, directory.ErrNotPermitted} {
		msg = strings.TrimSuffix(msg, ": "+s.Error())
	}
	return msg + "."
}

// refuse shows the page again with why the change was refused, or fails
// for an error of Atrium's own.
func (c *Console) refuse(w http.ResponseWriter, err error, again func(status int, message string)) {
	status, message, ok := refusal(err)
	if !ok {
		c.fail(w, "change", err)
		return
	}
	again(status, message)
}
