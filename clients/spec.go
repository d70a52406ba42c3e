package clients

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// TLS choices a guide may make.
const (
	TLSLDAPS    = "ldaps"    // TLS from the first byte, on the LDAPS port
	TLSStartTLS = "starttls" // plain LDAP port, upgraded with StartTLS
)

// Ways a client binds before a search.
const (
	BindService   = "service"   // as the client's bind account
	BindUser      = "user"      // as the example user, with the user's password
	BindAnonymous = "anonymous" // not at all
)

// spec is one data file, before rendering.
type spec struct {
	Title    string   `yaml:"title"`
	Kind     string   `yaml:"kind"` // ldap or saml
	Summary  string   `yaml:"summary"`
	TLS      string   `yaml:"tls"`
	Needs    Needs    `yaml:"needs"`
	SAML     *SAML    `yaml:"saml"`
	Screens  []Screen `yaml:"screens"`
	Searches []Search `yaml:"searches"`
	Notes    []string `yaml:"notes"`
}

// Needs is what a client needs from Atrium.
type Needs struct {
	// BindAccount names the bind account to create (empty: the client
	// binds only as its users or anonymously), with Rights.
	BindAccount string   `yaml:"bind_account"`
	Rights      []string `yaml:"rights"`
	// Samba: the client reads Samba attributes, so samba.enabled must be on.
	Samba bool `yaml:"samba"`
	// Anonymous is the ldap.anonymous setting the client needs: none or base.
	Anonymous string `yaml:"anonymous"`
}

// SAML is what a SAML app receives, for apps registered with a preset.
type SAML struct {
	Preset     string   `yaml:"preset"`
	NameID     string   `yaml:"nameid"`
	Attributes []string `yaml:"attributes"`
}

// Screen is one screen of the client, or one config file, with its fields
// in the order the client shows them.
type Screen struct {
	Name  string `yaml:"name"`
	Where string `yaml:"where"` // how to get there, or the file's path
	// Syntax is set for a config file, whose fields are its lines: "ini"
	// (key = value; a label in brackets with no value starts a section) or
	// "space" (key value).
	Syntax string  `yaml:"syntax"`
	Fields []Field `yaml:"fields"`
}

// Field is one setting and the value to enter.
type Field struct {
	Label string `yaml:"label"`
	Value string `yaml:"value"`
	Note  string `yaml:"note"`
	// Search names the request that sends this value, as its base or
	// inside its filter, with Placeholder (the client's own, such as %s)
	// replaced by the user's name; a test holds the two together.
	Search      string `yaml:"search"`
	Placeholder string `yaml:"placeholder"`
}

// Search is one request the client sends: a bind, then a search unless
// Filter is empty. Expect says what the client needs back.
type Search struct {
	Name       string   `yaml:"name"`
	Bind       string   `yaml:"bind"`
	Base       string   `yaml:"base"`
	Scope      string   `yaml:"scope"` // base, one or sub
	Filter     string   `yaml:"filter"`
	Attributes []string `yaml:"attributes"`
	PageSize   int      `yaml:"page_size"` // the client pages with this size; 0: it does not
	Expect     Expect   `yaml:"expect"`
}

// Expect is what a search must return for the client to work.
type Expect struct {
	DNs     []string            `yaml:"dns"`     // entries that must be found
	Exact   bool                `yaml:"exact"`   // and no others
	Min     int                 `yaml:"min"`     // at least this many entries
	Present []string            `yaml:"present"` // attributes every entry found carries
	Values  map[string][]string `yaml:"values"`  // values the first of DNs carries
	// Spelling: the client matches attribute names case-sensitively (Go's
	// go-ldap), so Present and Values must come back spelled as asked.
	Spelling bool `yaml:"spelling"`
	// Membership: DNs say whether the test directory's user is in a group
	// (admins, say). Another user, in other groups, is answered as well;
	// the console's Test shows the outcome instead of judging it.
	Membership bool `yaml:"membership"`
}

// Rendered is a guide with every value filled in for one server.
type Rendered struct {
	Name    string
	Title   string
	Kind    string
	Summary string
	TLS     string // ldaps or starttls; empty for SAML apps
	Host    string
	Port    int
	URI     string
	BindDN  string
	// UserDN and GroupDN are the DNs of Settings' User and Group.
	UserDN, GroupDN string
	Needs           Needs
	// Setup are the atrium commands that give the client what it needs.
	Setup []string
	SAML  *SAML
	// SSOURL, EntityID and MetadataURL are Atrium's SAML endpoints.
	SSOURL, EntityID, MetadataURL string
	Screens                       []Screen
	Searches                      []Search
	Notes                         []string
}

// Value returns the value of the field labelled label on any screen, for
// tests and config writers that need one setting.
func (r Rendered) Value(label string) (string, bool) {
	for _, s := range r.Screens {
		for _, f := range s.Fields {
			if f.Label == label {
				return f.Value, true
			}
		}
	}
	return "", false
}

func (sp spec) check() error {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if sp.Title == "" || len(sp.Screens) == 0 {
		bad("a title and at least one screen are required")
	}
	switch sp.Kind {
	case "ldap":
		if sp.TLS != TLSLDAPS && sp.TLS != TLSStartTLS {
			bad("tls %q must be %s or %s", sp.TLS, TLSLDAPS, TLSStartTLS)
		}
		if len(sp.Searches) == 0 {
			bad("an LDAP client needs the searches it sends")
		}
	case "saml":
		if sp.SAML == nil {
			bad("a SAML app needs its saml section")
		}
	default:
		bad("kind %q must be ldap or saml", sp.Kind)
	}
	if a := sp.Needs.Anonymous; a != "" && a != "none" && a != "base" {
		bad("needs.anonymous %q must be none or base", a)
	}
	if (sp.Needs.BindAccount == "") != (len(sp.Needs.Rights) == 0) {
		bad("needs: a bind account and its rights go together")
	}
	for _, s := range sp.Screens {
		if s.Syntax != "" && s.Syntax != "ini" && s.Syntax != "space" {
			bad("screen %q: syntax %q must be ini or space", s.Name, s.Syntax)
		}
		for _, f := range s.Fields {
			if f.Search != "" && !slices.ContainsFunc(sp.Searches, func(q Search) bool { return q.Name == f.Search }) {
				bad("field %q: no search %q", f.Label, f.Search)
			}
		}
	}
	for _, s := range sp.Searches {
		if err := s.check(sp.Needs); err != nil {
			bad("search %q: %v", s.Name, err)
		}
	}
	if problems != nil {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func (s Search) check(n Needs) error {
	switch {
	case s.Name == "":
		return errors.New("a name is required")
	case s.Bind != BindService && s.Bind != BindUser && s.Bind != BindAnonymous:
		return fmt.Errorf("bind %q must be service, user or anonymous", s.Bind)
	case s.Bind == BindService && n.BindAccount == "":
		return errors.New("binds as a service but the client needs no bind account")
	case s.Filter != "" && s.Scope != "base" && s.Scope != "one" && s.Scope != "sub":
		return fmt.Errorf("scope %q must be base, one or sub", s.Scope)
	}
	return nil
}

func (sp spec) render(name string, r *renderer) Rendered {
	out := Rendered{Name: name, Title: sp.Title, Kind: sp.Kind, Summary: r.str(sp.Summary), TLS: sp.TLS,
		Host: r.vars.Host, Port: r.vars.Port, URI: r.vars.URI, BindDN: r.vars.BindDN, UserDN: r.vars.UserDN, GroupDN: r.vars.GroupDN, Needs: sp.Needs, SAML: sp.SAML,
		SSOURL: r.vars.SSOURL, EntityID: r.vars.EntityID, MetadataURL: r.vars.MetadataURL, Notes: r.strs(sp.Notes)}
	if out.Needs.Anonymous == "" {
		out.Needs.Anonymous = "none"
	}
	if n := sp.Needs; n.BindAccount != "" {
		out.Setup = append(out.Setup, "atrium bind-account add "+n.BindAccount+" --rights "+strings.Join(n.Rights, ","))
	}
	for _, s := range sp.Screens {
		rs := Screen{Name: r.str(s.Name), Where: r.str(s.Where), Syntax: s.Syntax}
		for _, f := range s.Fields {
			f.Label, f.Value, f.Note = r.str(f.Label), r.str(f.Value), r.str(f.Note)
			rs.Fields = append(rs.Fields, f)
		}
		out.Screens = append(out.Screens, rs)
	}
	for _, s := range sp.Searches {
		rs := s
		rs.Base, rs.Filter, rs.Attributes = r.str(s.Base), r.str(s.Filter), r.strs(s.Attributes)
		rs.Expect.DNs, rs.Expect.Present = r.strs(s.Expect.DNs), r.strs(s.Expect.Present)
		if s.Expect.Values != nil {
			rs.Expect.Values = map[string][]string{}
			for k, vs := range s.Expect.Values {
				rs.Expect.Values[k] = r.strs(vs)
			}
		}
		out.Searches = append(out.Searches, rs)
	}
	return out
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Text is a config file screen as the file's text, each note a comment
// above its line.
func (s Screen) Text() string {
	var b strings.Builder
	for _, f := range s.Fields {
		if f.Value == "" && b.Len() > 0 {
			b.WriteString("\n") // before a section
		}
		if f.Note != "" {
			fmt.Fprintf(&b, "# %s\n", f.Note)
		}
		switch {
		case f.Value == "":
			fmt.Fprintf(&b, "%s\n", f.Label)
		case s.Syntax == "ini":
			fmt.Fprintf(&b, "%s = %s\n", f.Label, f.Value)
		default:
			fmt.Fprintf(&b, "%s %s\n", f.Label, f.Value)
		}
	}
	return b.String()
}
