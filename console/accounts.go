package console

import (
	"net/http"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/signin"
)

// Bind accounts: the identities devices and apps search the directory
// with. A password is generated here and shown once, as the CLI does.

// bindPasswordLength is the length of a generated bind account password.
const bindPasswordLength = 32

type accountsView struct {
	Accounts []directory.BindAccount
	Rights   []directory.Right
	// Name and Password are shown once, after a create or a rotation.
	Name, Password string
}

func (c *Console) bindAccounts(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	notice := map[string]string{"deleted": "The bind account is deleted."}[r.URL.Query().Get("done")]
	c.showAccounts(w, r, a, http.StatusOK, accountsView{}, notice, "")
}

func (c *Console) showAccounts(w http.ResponseWriter, r *http.Request, a signin.Account, status int, v accountsView, notice, problem string) {
	var err error
	if v.Accounts, err = c.dir.ListBindAccounts(r.Context()); err != nil {
		c.fail(w, "bind accounts", err)
		return
	}
	v.Rights = directory.AllRights
	c.show(w, status, "accounts.html", "Bind accounts", view{Admin: a, Section: "accounts", Notice: notice, Error: problem, Data: v})
}

func (c *Console) createBindAccount(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	rights, err := directory.ParseRights(r.PostForm["rights"])
	pw := password.Generate(bindPasswordLength)
	if err == nil {
		_, err = c.dir.CreateBindAccount(r.Context(), name, rights, pw)
	}
	if err != nil {
		c.refuse(w, err, func(status int, message string) { c.showAccounts(w, r, a, status, accountsView{}, "", message) })
		return
	}
	c.audit(r, a, name, "bind-account add")
	c.showAccounts(w, r, a, http.StatusOK, accountsView{Name: name, Password: pw}, "The bind account is created.", "")
}

func (c *Console) rotateBindAccount(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	pw := password.Generate(bindPasswordLength)
	if err := c.dir.SetBindAccountPassword(r.Context(), name, pw); err != nil {
		c.refuse(w, err, func(status int, message string) { c.showAccounts(w, r, a, status, accountsView{}, "", message) })
		return
	}
	c.audit(r, a, name, "bind-account rotate")
	c.showAccounts(w, r, a, http.StatusOK, accountsView{Name: name, Password: pw}, "The password is replaced; the old one no longer works.", "")
}

func (c *Console) deleteBindAccount(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	err := error(&confirmError{uid: name})
	if r.PostFormValue("confirm") == name {
		err = c.dir.DeleteBindAccount(r.Context(), name)
	}
	if err != nil {
		c.refuse(w, err, func(status int, message string) { c.showAccounts(w, r, a, status, accountsView{}, "", message) })
		return
	}
	c.audit(r, a, name, "bind-account delete")
	http.Redirect(w, r, "/admin/bind-accounts?done=deleted", http.StatusSeeOther)
}
