package clients

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/template"

	"gopkg.in/yaml.v3"
)

//go:embed data/*.yaml
var dataFS embed.FS

// ErrUnknown is returned by Guide for a client that has no data file.
var ErrUnknown = errors.New("no guide for this client")

// Settings are the server settings a guide's values are templates over.
type Settings struct {
	BaseDN      string
	Host        string // the name devices reach Atrium at; it must be in the TLS certificate
	LDAPPort    int    // plain LDAP, upgraded with StartTLS
	LDAPSPort   int
	ExternalURL string
	// SigningCert is the SAML signing certificate (base64 DER, as in the
	// metadata); empty when the guide should point at the metadata instead.
	SigningCert string
	// User and Group are the example user and group a guide's searches
	// look for; the console's Test button sets them to real ones.
	User  string
	Group string
}

// DefaultSettings are Atrium's defaults, which the committed docs show.
func DefaultSettings() Settings {
	return Settings{BaseDN: "dc=example,dc=com", Host: "localhost", LDAPPort: 3389, LDAPSPort: 6636,
		ExternalURL: "http://localhost:8080", User: "alice", Group: "staff"}
}

// Names lists the clients that have a guide, in file order.
func Names() []string {
	entries, err := dataFS.ReadDir("data")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return names
}

// Guide renders the named client's guide for s.
func Guide(name string, s Settings) (Rendered, error) {
	if !slices.Contains(Names(), name) {
		return Rendered{}, fmt.Errorf("%q: %w", name, ErrUnknown)
	}
	raw, err := dataFS.ReadFile("data/" + name + ".yaml")
	if err != nil {
		return Rendered{}, fmt.Errorf("read guide %s: %w", name, err)
	}
	var sp spec
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&sp); err != nil {
		return Rendered{}, fmt.Errorf("parse guide %s: %w", name, err)
	}
	if err := sp.check(); err != nil {
		return Rendered{}, fmt.Errorf("guide %s: %w", name, err)
	}
	v, err := newVars(s, sp)
	if err != nil {
		return Rendered{}, err
	}
	r := &renderer{vars: v}
	out := sp.render(name, r)
	if r.err != nil {
		return Rendered{}, fmt.Errorf("render guide %s: %w", name, r.err)
	}
	return out, nil
}

// vars are what a data file's templates may use.
type vars struct {
	Settings
	PeopleDN, GroupsDN, ServicesDN string
	BindDN                         string // the client's bind account
	UserDN, GroupDN                string
	Port                           int    // the port of the client's TLS choice
	URI                            string // ldaps://host:port or ldap://host:port
	SSOURL, EntityID, MetadataURL  string
}

func newVars(s Settings, sp spec) (vars, error) {
	if s.BaseDN == "" || s.Host == "" || s.User == "" || s.Group == "" {
		return vars{}, errors.New("settings need a base DN, a host, a user and a group")
	}
	if _, err := url.Parse(s.ExternalURL); err != nil {
		return vars{}, fmt.Errorf("external URL %q: %w", s.ExternalURL, err)
	}
	ext := strings.TrimSuffix(s.ExternalURL, "/")
	v := vars{Settings: s,
		PeopleDN: "ou=people," + s.BaseDN, GroupsDN: "ou=groups," + s.BaseDN, ServicesDN: "ou=services," + s.BaseDN,
		SSOURL: ext + "/saml/sso", EntityID: ext + "/saml/metadata", MetadataURL: ext + "/saml/metadata",
	}
	v.UserDN = "uid=" + s.User + "," + v.PeopleDN
	v.GroupDN = "cn=" + s.Group + "," + v.GroupsDN
	if sp.Needs.BindAccount != "" {
		v.BindDN = "cn=" + sp.Needs.BindAccount + "," + v.ServicesDN
	}
	switch sp.TLS {
	case TLSLDAPS:
		v.Port, v.URI = s.LDAPSPort, fmt.Sprintf("ldaps://%s:%d", s.Host, s.LDAPSPort)
	case TLSStartTLS:
		v.Port, v.URI = s.LDAPPort, fmt.Sprintf("ldap://%s:%d", s.Host, s.LDAPPort)
	}
	return v, nil
}

// renderer executes templates over vars, keeping the first error.
type renderer struct {
	vars vars
	err  error
}

func (r *renderer) str(text string) string {
	if r.err != nil || !strings.Contains(text, "{{") {
		return text
	}
	t, err := template.New("").Option("missingkey=error").Parse(text)
	if err != nil {
		r.err = fmt.Errorf("%q: %w", text, err)
		return ""
	}
	var b strings.Builder
	if err := t.Execute(&b, r.vars); err != nil {
		r.err = fmt.Errorf("%q: %w", text, err)
		return ""
	}
	return b.String()
}

func (r *renderer) strs(texts []string) []string {
	if texts == nil {
		return nil
	}
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = r.str(t)
	}
	return out
}
