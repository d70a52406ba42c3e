package console

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/atrium-dir/atrium/backup"
	"github.com/atrium-dir/atrium/directory"
)

// The overview: how much the directory holds, recent failed sign-ins, and
// what an admin should act on.

type overviewView struct {
	Counts    directory.Counts
	Warnings  []string
	Failed    []directory.AuditEvent
	Listeners []listenerView
	StorePath string
	StoreSize int64
	// BackupDir is empty when no backups are scheduled; LastBackup is zero
	// when none was taken yet.
	BackupDir  string
	LastBackup time.Time
}

// listenerView is one listener, with the certificate it presents.
type listenerView struct {
	Name, Addr, Note string
	Cert             *certView
}

type certView struct {
	Use      string // what the certificate is for, in a warning
	Subject  string
	Names    []string
	NotAfter time.Time
	DaysLeft int
}

const (
	failedShown  = 10
	failedWindow = 24 * time.Hour
)

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	var v overviewView
	var err error
	if v.Counts, err = c.dir.Count(ctx); err != nil {
		c.fail(w, "count", err)
		return
	}
	if v.Warnings, err = c.warnings(ctx); err != nil {
		c.fail(w, "warnings", err)
		return
	}
	c.serverState(ctx, &v)
	logins, err := c.dir.AuditEvents(ctx, directory.AuditQuery{Kind: "login", Since: c.now().Add(-failedWindow)})
	if err != nil {
		c.fail(w, "failed sign-ins", err)
		return
	}
	logins = slices.DeleteFunc(logins, func(e directory.AuditEvent) bool { return e.Result == directory.ResultOK })
	slices.Reverse(logins)
	v.Failed = logins[:min(len(logins), failedShown)]
	c.show(w, http.StatusOK, "overview.html", "Overview", view{Admin: a, Section: "overview", Data: v})
}

// warnings lists what an admin should act on: admins without a second
// factor, and an external URL that is not https.
func (c *Console) warnings(ctx context.Context) ([]string, error) {
	var out []string
	if !c.signin.Secure() {
		out = append(out, "The external URL is not https: passwords and session cookies cross the network in clear, and browsers refuse passkeys off this host.")
	}
	var admins []directory.User
	err := c.dir.View(ctx, func(ctx context.Context, r directory.Reader) error {
		seen := map[string]bool{}
		for _, cn := range c.groups {
			g, err := r.GroupByCN(cn)
			if err != nil {
				continue // a named group that does not exist makes no admins
			}
			ids, err := r.EffectiveUserIDs(g.ID)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if u, err := r.User(id); err == nil && !seen[id] {
					seen[id] = true
					admins = append(admins, u)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, u := range admins {
		factors, err := c.dir.Factors(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if len(factors) == 0 && !u.Disabled {
			out = append(out, "The admin "+u.UID+" has no second factor; they must add one before they can use the console.")
		}
	}
	return out, nil
}

// Certificates closer to expiry than certWarning, and backups older than
// backupWarning, are warnings on the overview.
const (
	certWarning   = 21 * 24 * time.Hour
	backupWarning = 7 * 24 * time.Hour
)

// serverState adds the listeners, the store and the last backup to v, and
// the warnings they call for. What cannot be read is logged and left out:
// the overview is still worth showing.
func (c *Console) serverState(ctx context.Context, v *overviewView) {
	srv := c.server
	ldapsCert := c.certView("the LDAP listeners", srv.Certificate)
	add := func(name, addr, note string, cert *certView) {
		if addr != "" {
			v.Listeners = append(v.Listeners, listenerView{Name: name, Addr: addr, Note: note, Cert: cert})
		}
	}
	add("LDAP", srv.LDAPAddr, "StartTLS", ldapsCert)
	add("LDAPS", srv.LDAPSAddr, "TLS", ldapsCert)
	var saml *certView
	if srv.SAMLCertificate != nil {
		if cert, err := srv.SAMLCertificate(ctx); err == nil {
			saml = c.certView("SAML signing", cert)
		} else {
			c.log.Warn("console: SAML signing certificate", "err", err)
		}
	}
	add("Web", srv.HTTPAddr, "external URL "+c.signin.URL("/")+"; the certificate is the SAML signing one", saml)
	for _, cert := range []*certView{ldapsCert, saml} {
		if cert != nil && cert.NotAfter.Sub(c.now()) < certWarning {
			v.Warnings = append(v.Warnings, fmt.Sprintf("The certificate of %s expires on %s (in %d days): replace it before clients refuse to connect.", cert.Use, cert.NotAfter.Format("2 Jan 2006"), cert.DaysLeft))
		}
	}
	if srv.StorePath != "" {
		if fi, err := os.Stat(srv.StorePath); err == nil {
			v.StorePath, v.StoreSize = srv.StorePath, fi.Size()
		} else {
			c.log.Warn("console: store size", "err", err)
		}
	}
	v.BackupDir = srv.BackupDir
	if srv.BackupDir != "" {
		last, err := backup.Newest(srv.BackupDir)
		if err != nil {
			c.log.Warn("console: last backup", "err", err)
		}
		v.LastBackup = last
	}
	switch {
	case srv.BackupDir == "":
		v.Warnings = append(v.Warnings, "Backups are not scheduled: set backup.dir so that Atrium takes them.")
	case c.now().Sub(v.LastBackup) > backupWarning:
		v.Warnings = append(v.Warnings, "No backup in the last week in "+srv.BackupDir+": check the server's log for why.")
	}
}

func (c *Console) certView(use string, cert *x509.Certificate) *certView {
	if cert == nil {
		return nil
	}
	names := slices.Clone(cert.DNSNames)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	return &certView{Use: use, Subject: cert.Subject.CommonName, Names: names, NotAfter: cert.NotAfter.UTC(),
		DaysLeft: int(cert.NotAfter.Sub(c.now()).Hours() / 24)}
}
