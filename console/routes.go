package console

import (
	"io/fs"
	"net/http"
)

// routes adds every console page and form to mux; each handler starts
// with c.admin (pages) or c.change (forms).
func (c *Console) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/{$}", c.overview)
	mux.HandleFunc("GET /admin/sign-in-again", c.signInAgain)
	mux.Handle("GET /admin/assets/", c.assets())

	mux.HandleFunc("GET /admin/users", c.users)
	mux.HandleFunc("GET /admin/users/new", c.newUser)
	mux.HandleFunc("POST /admin/users", c.createUser)
	mux.HandleFunc("GET /admin/users/{uid}", c.user)
	mux.HandleFunc("POST /admin/users/{uid}", c.editUser)
	mux.HandleFunc("POST /admin/users/{uid}/{action}", c.userAction)
	mux.HandleFunc("GET /admin/users/{uid}/delete", c.confirmDeleteUser)

	mux.HandleFunc("GET /admin/groups", c.groupList)
	mux.HandleFunc("GET /admin/groups/new", c.newGroup)
	mux.HandleFunc("POST /admin/groups", c.createGroup)
	mux.HandleFunc("GET /admin/groups/{cn}", c.group)
	mux.HandleFunc("POST /admin/groups/{cn}", c.editGroup)
	mux.HandleFunc("POST /admin/groups/{cn}/members", c.addMember)
	mux.HandleFunc("POST /admin/groups/{cn}/members/remove", c.removeMember)
	mux.HandleFunc("GET /admin/groups/{cn}/delete", c.confirmDeleteGroup)
	mux.HandleFunc("POST /admin/groups/{cn}/delete", c.deleteGroup)
	mux.HandleFunc("GET /admin/members", c.memberSearch)
	mux.HandleFunc("GET /admin/live", c.liveSearch)

	mux.HandleFunc("GET /admin/bind-accounts", c.bindAccounts)
	mux.HandleFunc("POST /admin/bind-accounts", c.createBindAccount)
	mux.HandleFunc("POST /admin/bind-accounts/{name}/rotate", c.rotateBindAccount)
	mux.HandleFunc("POST /admin/bind-accounts/{name}/delete", c.deleteBindAccount)

	mux.HandleFunc("GET /admin/apps", c.apps)
	mux.HandleFunc("GET /admin/apps/new", c.newApp)
	mux.HandleFunc("POST /admin/apps", c.createApp)
	mux.HandleFunc("GET /admin/apps/new-oidc", c.newOIDCApp)
	mux.HandleFunc("POST /admin/apps/oidc", c.createOIDCApp)
	mux.HandleFunc("GET /admin/apps/guide/cloudflare", c.cloudflareGuide)
	mux.HandleFunc("GET /admin/apps/{name}", c.app)
	mux.HandleFunc("POST /admin/apps/{name}", c.editApp)
	mux.HandleFunc("GET /admin/apps/{name}/delete", c.confirmDeleteApp)
	mux.HandleFunc("POST /admin/apps/{name}/delete", c.deleteApp)
	mux.HandleFunc("POST /admin/apps/{name}/oidc", c.editOIDCApp)
	mux.HandleFunc("POST /admin/apps/{name}/rotate-secret", c.rotateSecret)
	mux.HandleFunc("POST /admin/apps/{name}/use-next-cert", c.useNextCert)
	mux.HandleFunc("POST /admin/saml/rotate", c.rotateCert)

	mux.HandleFunc("GET /admin/devices", c.devices)
	mux.HandleFunc("GET /admin/devices/{name}", c.device)
	mux.HandleFunc("POST /admin/devices/{name}/bind-account", c.createDeviceAccount)
	mux.HandleFunc("POST /admin/devices/{name}/test", c.testDevice)

	mux.HandleFunc("GET /admin/policy", c.policy)
	mux.HandleFunc("POST /admin/policy/mfa", c.setMFA)
	mux.HandleFunc("POST /admin/policy/settings", c.setSettings)

	mux.HandleFunc("GET /admin/sessions", c.sessions)
	mux.HandleFunc("POST /admin/sessions/end", c.endSession)

	mux.HandleFunc("GET /admin/audit", c.auditLog)
}

// assets serves the console's style sheet and script.
func (c *Console) assets() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	return http.StripPrefix("/admin/assets/", http.FileServerFS(sub))
}
