package ldapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

// One test per behaviour ranked in shared/ldap-clients.md, each over TCP
// with the go-ldap client.

const (
	base      = "dc=example,dc=com"
	aliceDN   = "uid=alice,ou=people,dc=example,dc=com"
	bobDN     = "uid=bob,ou=people,dc=example,dc=com"
	staffDN   = "cn=staff,ou=groups,dc=example,dc=com"
	everyDN   = "cn=everyone,ou=groups,dc=example,dc=com"
	readerDN  = "cn=reader,ou=services,dc=example,dc=com"
	sambaDN   = "cn=samba,ou=services,dc=example,dc=com"
	adminDN   = "cn=admin,ou=services,dc=example,dc=com"
	peopleDN  = "ou=people,dc=example,dc=com"
	groupsDN  = "ou=groups,dc=example,dc=com"
	noSuchDN  = "uid=nobody,ou=people,dc=example,dc=com"
	subschema = "cn=Subschema"
)

type client struct {
	t *testing.T
	*ldap.Conn
}

func connect(t *testing.T, addr, dn, pw string) *client {
	t.Helper()
	c := &client{t, dial(t, addr)}
	if dn != "" {
		if err := c.Bind(dn, pw); err != nil {
			t.Fatalf("bind %s: %v", dn, err)
		}
	}
	return c
}

func (c *client) find(baseDN string, scope int, filter string, attrs ...string) []*ldap.Entry {
	c.t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(baseDN, scope, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil))
	if err != nil {
		c.t.Fatalf("search %s %s: %v", baseDN, filter, err)
	}
	return res.Entries
}

func (c *client) code(baseDN string, scope int, filter string) uint16 {
	c.t.Helper()
	_, err := c.Search(ldap.NewSearchRequest(baseDN, scope, ldap.NeverDerefAliases, 0, 0, false, filter, nil, nil))
	return resultCode(err)
}

func resultCode(err error) uint16 {
	var le *ldap.Error
	if errors.As(err, &le) {
		return le.ResultCode
	}
	if err != nil {
		return 0xffff
	}
	return 0
}

func entryDNs(es []*ldap.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.DN)
	}
	slices.Sort(out)
	return out
}

func TestRankedBehaviours(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	sub, one, baseScope := ldap.ScopeWholeSubtree, ldap.ScopeSingleLevel, ldap.ScopeBaseObject

	t.Run("01 simple bind by DN, 49 on a bad password, failed re-bind drops privileges", func(t *testing.T) {
		c := connect(t, addr, aliceDN, "alice-password")
		if err := c.Bind(aliceDN, "wrong"); resultCode(err) != ldap.LDAPResultInvalidCredentials {
			t.Fatalf("bad password: %v", err)
		}
		if code := c.code(base, sub, "(uid=bob)"); code != ldap.LDAPResultInsufficientAccessRights {
			t.Fatalf("after a failed re-bind the connection still reads (code %d)", code)
		}
		if err := c.Bind(bobDN, "bob-password"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("02 one stable byte-identical DN", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		a := c.find(base, sub, "(uid=alice)", "memberOf")
		b := c.find("DC=Example, DC=Com", sub, "(UID=ALICE)")
		if len(a) != 1 || len(b) != 1 || a[0].DN != aliceDN || b[0].DN != aliceDN {
			t.Fatalf("DNs: %v %v", entryDNs(a), entryDNs(b))
		}
		g := c.find(base, sub, "(cn=staff)", "member")
		if !slices.Contains(g[0].GetAttributeValues("member"), aliceDN) || a[0].GetAttributeValue("memberOf") != g[0].DN {
			t.Fatalf("member/memberOf spell DNs differently: %v / %v", g[0].GetAttributeValues("member"), a[0].GetAttributeValues("memberOf"))
		}
	})
	t.Run("03 attribute names and values case-insensitive", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		for _, flt := range []string{"(UID=Alice)", "(&(OBJECTCLASS=inetorgperson)(uid=ALICE))", "(Mail=ALICE@EXAMPLE.COM)", "(objectclass=POSIXACCOUNT)"} {
			if es := c.find(base, sub, flt); !slices.Contains(entryDNs(es), aliceDN) {
				t.Errorf("%s did not find alice", flt)
			}
		}
	})
	t.Run("04 unknown attributes never error", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		for _, flt := range []string{"(sudoHost=*\\2A*)", "(fooBar=*)", "(!(fooBar=x))", "(&(objectClass=sudoRole)(sudoUser=alice))"} {
			es, err := c.Search(ldap.NewSearchRequest(base, sub, 0, 0, 0, false, flt, nil, nil))
			if err != nil || len(es.Entries) != 0 {
				t.Errorf("%s: %v, %d entries", flt, err, len(es.Entries))
			}
		}
		if es := c.find(base, sub, "(|(fooBar=x)(uid=alice))"); len(es) != 1 {
			t.Errorf("OR with an unknown attribute lost the known branch")
		}
	})
	t.Run("05 objectClass values explicit", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		oc := c.find(aliceDN, baseScope, "(objectClass=*)", "objectClass")[0].GetAttributeValues("objectClass")
		for _, want := range []string{"top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount", "shadowAccount", "ldapPublicKey", "sambaSamAccount"} {
			if !slices.Contains(oc, want) {
				t.Errorf("objectClass lacks %s: %v", want, oc)
			}
		}
	})
	t.Run("06 groups are groupOfNames, groupOfUniqueNames and posixGroup at once", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		g := c.find(staffDN, baseScope, "(objectClass=*)", "*")[0]
		for _, want := range []string{"groupOfNames", "groupOfUniqueNames", "posixGroup"} {
			if !slices.Contains(g.GetAttributeValues("objectClass"), want) {
				t.Errorf("group lacks %s", want)
			}
		}
		if !slices.Equal(g.GetAttributeValues("member"), g.GetAttributeValues("uniqueMember")) || len(g.GetAttributeValues("member")) != 2 {
			t.Errorf("member %v uniqueMember %v", g.GetAttributeValues("member"), g.GetAttributeValues("uniqueMember"))
		}
		if uids := g.GetAttributeValues("memberUid"); !slices.Equal(uids, []string{"alice", "bob"}) || g.GetAttributeValue("gidNumber") == "" {
			t.Errorf("memberUid %v gidNumber %q", uids, g.GetAttributeValue("gidNumber"))
		}
		for _, flt := range []string{"(&(objectClass=groupOfUniqueNames)(uniqueMember=" + aliceDN + "))", "(&(objectClass=posixGroup)(memberUid=alice))", "(&(objectClass=groupOfNames)(member=" + aliceDN + "))"} {
			// alice's private group has her as its one member.
			if es := c.find(base, sub, flt); !slices.Equal(entryDNs(es), []string{"cn=alice," + groupsDN, staffDN}) {
				t.Errorf("%s = %v", flt, entryDNs(es))
			}
		}
		e := c.find(everyDN, baseScope, "(objectClass=*)", "member")[0]
		if !slices.Contains(e.GetAttributeValues("member"), staffDN) {
			t.Errorf("nested group not a member DN: %v", e.GetAttributeValues("member"))
		}
	})
	t.Run("07 memberOf served and filterable", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		if got := entryDNs(c.find(base, sub, "(memberOf=CN=Staff,OU=Groups,DC=example,DC=com)")); !slices.Equal(got, []string{aliceDN, bobDN}) {
			t.Errorf("memberOf= %v", got)
		}
		if got := c.find(peopleDN, one, "(memberOf=*)"); len(got) != 3 {
			t.Errorf("memberOf=* found %d", len(got))
		}
	})
	t.Run("08 paged results", testPaging)
	t.Run("09 entryUUID, entryDN and timestamps", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		e := c.find(aliceDN, baseScope, "(objectClass=*)", "entryUUID", "entryDN", "createTimestamp", "modifyTimestamp")[0]
		id := e.GetAttributeValue("entryUUID")
		u, _ := f.dir.User(context.Background(), "alice")
		if id != u.ID || e.GetAttributeValue("entryDN") != aliceDN {
			t.Fatalf("entryUUID %s entryDN %s", id, e.GetAttributeValue("entryDN"))
		}
		for _, a := range []string{"createTimestamp", "modifyTimestamp"} {
			if _, err := time.Parse("20060102150405Z", e.GetAttributeValue(a)); err != nil {
				t.Errorf("%s not GeneralizedTime: %q", a, e.GetAttributeValue(a))
			}
		}
		if got := entryDNs(c.find(base, sub, "(entryUUID="+strings.ToUpper(id)+")")); !slices.Equal(got, []string{aliceDN}) {
			t.Errorf("entryUUID search: %v", got)
		}
		if _, err := f.dir.RenameUser(context.Background(), "bob", "robert"); err != nil {
			t.Fatal(err)
		}
		defer f.dir.RenameUser(context.Background(), "robert", "bob")
		r := c.find(base, sub, "(uid=robert)", "entryUUID")
		b, _ := f.dir.User(context.Background(), "robert")
		if len(r) != 1 || r[0].GetAttributeValue("entryUUID") != b.ID {
			t.Errorf("entryUUID changed on rename")
		}
	})
	t.Run("10 anonymous root DSE, other anonymous searches refused", func(t *testing.T) {
		c := connect(t, addr, "", "")
		dse := c.find("", baseScope, "(objectClass=*)", "namingContexts", "defaultNamingContext", "supportedLDAPVersion", "vendorName", "subschemaSubentry", "supportedControl", "supportedExtension")
		e := dse[0]
		if e.GetAttributeValue("namingContexts") != base || e.GetAttributeValue("defaultNamingContext") != base || e.GetAttributeValue("supportedLDAPVersion") != "3" || e.GetAttributeValue("vendorName") == "" || e.GetAttributeValue("subschemaSubentry") != subschema {
			t.Errorf("root DSE: %+v", e.Attributes)
		}
		for _, oid := range []string{oidStartTLS, oidPasswordModify, oidWhoAmI} {
			if !slices.Contains(e.GetAttributeValues("supportedExtension"), oid) {
				t.Errorf("supportedExtension lacks %s", oid)
			}
		}
		if got := e.GetAttributeValues("supportedControl"); !slices.Equal(got, supportedControls) {
			t.Errorf("supportedControl %v", got)
		}
		if code := c.code(base, sub, "(uid=alice)"); code != ldap.LDAPResultInsufficientAccessRights {
			t.Errorf("anonymous search: %d", code)
		}
	})
	t.Run("11 POSIX attributes and filters", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		e := c.find(base, sub, "(&(uid=alice)(objectclass=posixAccount)(uid=*)(&(uidNumber=*)(!(uidNumber=0))))", "uidNumber", "gidNumber", "homeDirectory", "loginShell", "gecos")
		if len(e) != 1 || e[0].GetAttributeValue("uidNumber") != "10001" || e[0].GetAttributeValue("homeDirectory") != "/home/alice" || e[0].GetAttributeValue("loginShell") != "/bin/bash" || e[0].GetAttributeValue("gecos") != "Alice Liddell" {
			t.Fatalf("posix: %+v", e)
		}
		if got := entryDNs(c.find(base, sub, "(uidNumber=10001)")); !slices.Equal(got, []string{aliceDN}) {
			t.Errorf("uidNumber=10001: %v", got)
		}
		if got := c.find(base, sub, "(&(cn=staff)(objectClass=posixGroup)(cn=*)(&(gidNumber=*)(!(gidNumber=0))))"); len(got) != 1 {
			t.Errorf("SSSD group filter: %d", len(got))
		}
	})
	t.Run("12 lenient attribute lists, client spelling echoed", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		e := c.find(aliceDN, baseScope, "(objectClass=*)", "GIVENNAME", "givenName", "dn", "noSuchAttr", "1.1")[0]
		if len(e.Attributes) != 1 || e.Attributes[0].Name != "GIVENNAME" || e.Attributes[0].Values[0] != "Alice" {
			t.Fatalf("attributes: %+v", e.Attributes[0])
		}
		if e := c.find(aliceDN, baseScope, "(objectClass=*)", "1.1")[0]; len(e.Attributes) != 0 {
			t.Errorf("1.1 returned %d attributes", len(e.Attributes))
		}
		all := c.find(aliceDN, baseScope, "(objectClass=*)", "*", "+")[0]
		if all.GetAttributeValue("entryUUID") == "" || all.GetAttributeValue("mail") == "" {
			t.Errorf("* + missed attributes")
		}
		if star := c.find(aliceDN, baseScope, "(objectClass=*)", "*")[0]; star.GetAttributeValue("entryUUID") != "" {
			t.Errorf("* returned operational attributes")
		}
		if star := c.find(aliceDN, baseScope, "(objectClass=*)")[0]; star.GetAttributeValue("userPassword") != "" {
			t.Errorf("userPassword returned")
		}
	})
	t.Run("13 TLS: StartTLS and LDAPS, TLS 1.2 or later", func(t *testing.T) { testTLS(t, f) })
	t.Run("14 controls: non-critical unknown ignored, critical unknown refused", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		ppolicy := ldap.NewControlString("1.3.6.1.4.1.42.2.27.8.5.1", false, "")
		if err := c.Bind(readerDN, "reader-password"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.SimpleBind(&ldap.SimpleBindRequest{Username: readerDN, Password: "reader-password", Controls: []ldap.Control{ppolicy}}); err != nil {
			t.Fatalf("bind with a non-critical ppolicy control: %v", err)
		}
		manage := ldap.NewControlManageDsaIT(true)
		if _, err := c.Search(ldap.NewSearchRequest(base, sub, 0, 0, 0, false, "(uid=alice)", nil, []ldap.Control{manage})); err != nil {
			t.Errorf("critical ManageDsaIT: %v", err)
		}
		unknown := ldap.NewControlString("1.2.3.4.5.6.7", true, "")
		_, err := c.Search(ldap.NewSearchRequest(base, sub, 0, 0, 0, false, "(uid=alice)", nil, []ldap.Control{unknown}))
		if resultCode(err) != ldap.LDAPResultUnavailableCriticalExtension {
			t.Errorf("critical unknown control: %v", err)
		}
		if got := c.find(base, sub, "(uid=alice)"); len(got) != 1 {
			t.Errorf("connection unusable after a refused control")
		}
	})
	t.Run("15 scopes, fixed entries, missing base", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		if got := entryDNs(c.find(base, one, "(objectClass=*)")); !slices.Equal(got, []string{groupsDN, peopleDN, "ou=services,dc=example,dc=com", "sambaDomainName=EXAMPLE,dc=example,dc=com"}) {
			t.Errorf("one level under the base: %v", got)
		}
		if got := c.find(base, baseScope, "(objectClass=*)"); len(got) != 1 || got[0].DN != base {
			t.Errorf("base scope: %v", entryDNs(got))
		}
		if got := c.find(peopleDN, one, "(objectClass=*)"); len(got) != 3 {
			t.Errorf("one level under people: %d entries", len(got))
		}
		if got := c.find(aliceDN, one, "(objectClass=*)"); len(got) != 0 {
			t.Errorf("one level under a user: %v", entryDNs(got))
		}
		if got := c.find(base, sub, "(objectClass=*)"); len(got) != 1+4+3+3+3+3 { // base, containers, users, groups, private groups, bind accounts
			t.Errorf("subtree: %d entries", len(got))
		}
		for _, scope := range []int{baseScope, one, sub} {
			_, err := c.Search(ldap.NewSearchRequest(noSuchDN, scope, 0, 0, 0, false, "(objectClass=*)", nil, nil))
			var le *ldap.Error
			if !errors.As(err, &le) || le.ResultCode != ldap.LDAPResultNoSuchObject || le.MatchedDN != peopleDN {
				t.Errorf("scope %d on a missing DN: %v", scope, err)
			}
			if code := c.code("dc=other,dc=org", scope, "(objectClass=*)"); code != ldap.LDAPResultNoSuchObject {
				t.Errorf("scope %d outside the tree: %d", scope, code)
			}
		}
	})
	t.Run("16 a user reads her own entry", func(t *testing.T) {
		c := connect(t, addr, aliceDN, "alice-password")
		e := c.find(aliceDN, baseScope, "(objectClass=person)", "uid", "givenName", "sn", "mail", "sshPublicKey", "jpegPhoto")
		if len(e) != 1 || e[0].GetAttributeValue("sshPublicKey") == "" {
			t.Fatalf("own entry: %+v", e)
		}
		if got := c.find(aliceDN, baseScope, "(&(objectClass=person)(memberOf="+staffDN+"))"); len(got) != 1 {
			t.Errorf("home-assistant style check failed")
		}
	})
	t.Run("17 in-chain, substrings, 500-branch OR", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		if got := entryDNs(c.find(base, sub, "(memberof:1.2.840.113556.1.4.1941:="+everyDN+")")); len(got) != 4 {
			t.Errorf("in-chain memberOf: %v", got)
		}
		if got := c.find(base, sub, "(memberOf:1.2.840.113556.1.4.1941:=cn=nope,ou=groups,dc=example,dc=com)"); len(got) != 0 {
			t.Errorf("in-chain on a missing group: %v", entryDNs(got))
		}
		for _, flt := range []string{"(uid=ali*)", "(cn=*lice*)", "(mail=*@example.com)", "(sn=Lid*)", "(givenName=*ice)", "(displayName=*Lid*)", "(|(uid=*a*)(description=*x*)(entryUUID=*-*))"} {
			if got := entryDNs(c.find(peopleDN, one, flt)); !slices.Contains(got, aliceDN) {
				t.Errorf("%s: %v", flt, got)
			}
		}
		var b strings.Builder
		b.WriteString("(|")
		for i := range 500 {
			fmt.Fprintf(&b, "(uid=nobody%d)", i)
		}
		b.WriteString("(uid=alice))")
		if got := c.find(base, sub, b.String()); len(got) != 1 {
			t.Errorf("500-branch OR: %d", len(got))
		}
	})
	t.Run("18 DN with empty password never authenticates, empty DN is anonymous", func(t *testing.T) {
		c := connect(t, addr, "", "")
		err := c.UnauthenticatedBind(aliceDN)
		if code := resultCode(err); code != ldap.LDAPResultUnwillingToPerform {
			t.Fatalf("unauthenticated bind: %v", err)
		}
		if code := c.code(base, sub, "(uid=alice)"); code != ldap.LDAPResultInsufficientAccessRights {
			t.Errorf("unauthenticated bind granted access")
		}
		if err := c.UnauthenticatedBind(""); err != nil {
			t.Errorf("anonymous bind: %v", err)
		}
	})
	t.Run("19 password changes and Who Am I", func(t *testing.T) {
		admin := connect(t, addr, adminDN, "admin-password")
		m := ldap.NewModifyRequest(bobDN, nil)
		m.Replace("userPassword", []string{"bob-new-password"})
		if err := admin.Modify(m); err != nil {
			t.Fatalf("admin replace userPassword: %v", err)
		}
		bob := connect(t, addr, bobDN, "bob-new-password")
		res, err := bob.PasswordModify(ldap.NewPasswordModifyRequest("", "bob-new-password", "bob-password"))
		if err != nil || res.GeneratedPassword != "" {
			t.Fatalf("password modify: %v", err)
		}
		gen, err := admin.PasswordModify(ldap.NewPasswordModifyRequest(bobDN, "", ""))
		if err != nil || len(gen.GeneratedPassword) < 16 {
			t.Fatalf("generated password: %+v %v", gen, err)
		}
		who, err := connect(t, addr, bobDN, gen.GeneratedPassword).WhoAmI(nil)
		if err != nil || who.AuthzID != "dn:"+bobDN {
			t.Fatalf("whoami: %+v %v", who, err)
		}
		self := ldap.NewModifyRequest(bobDN, nil)
		self.Replace("userPassword", []string{"bob-password"})
		if err := connect(t, addr, bobDN, gen.GeneratedPassword).Modify(self); err != nil {
			t.Fatalf("self replace userPassword (Jellyfin): %v", err)
		}
		other := ldap.NewModifyRequest(aliceDN, nil)
		other.Replace("userPassword", []string{"stolen-password"})
		if err := bob.Modify(other); resultCode(err) != ldap.LDAPResultInsufficientAccessRights {
			t.Errorf("a user changed another's password: %v", err)
		}
		anon, err := connect(t, addr, "", "").WhoAmI(nil)
		if err != nil || anon.AuthzID != "" {
			t.Errorf("anonymous whoami: %+v %v", anon, err)
		}
	})
	t.Run("20 Samba schema, NT hash readable only by the samba account", func(t *testing.T) {
		nt := "sambaNTPassword"
		e := connect(t, addr, sambaDN, "samba-password").find(aliceDN, baseScope, "(objectClass=sambaSamAccount)", "sambaSID", "sambaPrimaryGroupSID", "sambaAcctFlags", "sambaPwdLastSet", nt)
		if len(e) != 1 || len(e[0].GetAttributeValue(nt)) != 32 || !strings.HasPrefix(e[0].GetAttributeValue("sambaSID"), "S-1-5-21-1-2-3-") || e[0].GetAttributeValue("sambaAcctFlags") != "[U          ]" {
			t.Fatalf("samba attributes: %+v", e)
		}
		if r := connect(t, addr, readerDN, "reader-password").find(aliceDN, baseScope, "(objectClass=*)", nt, "*"); r[0].GetAttributeValue(nt) != "" {
			t.Errorf("a read account sees the NT hash")
		}
		if r := connect(t, addr, aliceDN, "alice-password").find(aliceDN, baseScope, "(objectClass=*)", nt); r[0].GetAttributeValue(nt) != "" {
			t.Errorf("a user sees her NT hash")
		}
		if got := connect(t, addr, readerDN, "reader-password").find(base, sub, "(objectClass=sambaDomain)", "sambaSID"); len(got) != 1 || got[0].GetAttributeValue("sambaSID") != "S-1-5-21-1-2-3" {
			t.Errorf("sambaDomain entry: %v", entryDNs(got))
		}
	})
	t.Run("21 cn=Subschema readable", func(t *testing.T) {
		c := connect(t, addr, "", "")
		e := c.find(subschema, baseScope, "(objectClass=subschema)", "objectClasses", "attributeTypes")
		if len(e) != 1 {
			t.Fatal("no subschema entry")
		}
		ocs := strings.Join(e[0].GetAttributeValues("objectClasses"), "\n")
		for _, oc := range []string{"'inetOrgPerson'", "'posixAccount'", "'groupOfNames'", "'groupOfUniqueNames'", "'posixGroup'", "'sambaSamAccount'"} {
			if !strings.Contains(ocs, oc) {
				t.Errorf("subschema lacks %s", oc)
			}
		}
		if !strings.Contains(strings.Join(e[0].GetAttributeValues("attributeTypes"), "\n"), "NAME 'memberOf'") {
			t.Errorf("subschema lacks memberOf")
		}
	})
	t.Run("22 vCenter probes", func(t *testing.T) {
		c := connect(t, addr, readerDN, "reader-password")
		if got := c.find(base, sub, "(objectClass=pwdPolicy)"); len(got) != 0 {
			t.Errorf("pwdPolicy: %v", entryDNs(got))
		}
		e := c.find(aliceDN, baseScope, "(objectClass=*)", "userAccountControl", "pwdAccountLockedTime", "entryUUID")[0]
		if e.GetAttributeValue("userAccountControl") != "" || e.GetAttributeValue("entryUUID") == "" {
			t.Errorf("vCenter attributes: %+v", e.Attributes)
		}
	})
}

func testPaging(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	ctx := context.Background()
	err := f.dir.Batch(ctx, func(b *directory.Batch) error {
		for i := range 2500 {
			if _, err := b.CreateUser(directory.User{UID: fmt.Sprintf("page%04d", i), Mail: fmt.Sprintf("page%04d@example.com", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, addr, readerDN, "reader-password")
	req := func(size uint32, cookie []byte, critical bool) (*ldap.SearchResult, error) {
		pc := ldap.NewControlPaging(size)
		pc.SetCookie(cookie)
		var ctl ldap.Control = pc
		if critical {
			ctl = ldap.NewControlString(ldap.ControlTypePaging, true, string(mustPagingValue(size, cookie)))
		}
		return c.Search(ldap.NewSearchRequest(peopleDN, ldap.ScopeSingleLevel, 0, 0, 0, false, "(uid=page*)", []string{"uid"}, []ldap.Control{ctl}))
	}
	var cookie []byte
	pages, total := 0, 0
	seen := map[string]bool{}
	for {
		res, err := req(1000, cookie, pages == 0)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok {
			t.Fatalf("page %d has no paging control", pages)
		}
		pages++
		for _, e := range res.Entries {
			if seen[e.DN] {
				t.Fatalf("%s twice", e.DN)
			}
			seen[e.DN] = true
		}
		total += len(res.Entries)
		if pages == 2 {
			// A write between pages changes nothing in what is listed.
			f.dir.CreateUser(ctx, directory.User{UID: "page0000a", Mail: "new@example.com"})
		}
		if len(pc.Cookie) == 0 {
			break
		}
		cookie = pc.Cookie
	}
	if pages != 3 || total != 2500 {
		t.Errorf("%d pages, %d entries; want 3 and 2500", pages, total)
	}
	for _, size := range []uint32{100, 500, 900, 1024} {
		res, err := c.SearchWithPaging(ldap.NewSearchRequest(peopleDN, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil), size)
		if err != nil || len(res.Entries) != 2504 {
			t.Errorf("page size %d: %v, %d entries", size, err, len(res.Entries))
		}
	}
	first, err := req(100, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	pc := ldap.FindControl(first.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
	if _, err := req(0, pc.Cookie, false); err != nil {
		t.Errorf("size 0 to abandon: %v", err)
	}
	if _, err := req(100, pc.Cookie, false); resultCode(err) != ldap.LDAPResultUnwillingToPerform {
		t.Errorf("a released cookie was accepted: %v", err)
	}
	dse, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, []ldap.Control{ldap.NewControlPaging(1024)}))
	if err != nil || len(dse.Entries) != 1 || ldap.FindControl(dse.Controls, ldap.ControlTypePaging) == nil {
		t.Errorf("paged root DSE (TrueNAS): %v", err)
	}
}

func mustPagingValue(size uint32, cookie []byte) []byte {
	c := ldap.NewControlPaging(size)
	c.SetCookie(cookie)
	return c.Encode().Children[1].Data.Bytes()
}

func testTLS(t *testing.T, f *fixture) {
	s, addr := startServer(t, f)
	c := dial(t, addr)
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if err := c.Bind(readerDN, "reader-password"); err != nil {
		t.Fatal(err)
	}
	if err := c.StartTLS(&tls.Config{InsecureSkipVerify: true}); err == nil {
		t.Error("a second StartTLS succeeded")
	}
	old := dial(t, addr)
	if err := old.StartTLS(&tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("a TLS 1.1 client was accepted")
	}
	ln := listenTCP(t)
	go s.ServeTLS(ln)
	sc, err := ldap.DialURL("ldaps://"+ln.Addr().String(), ldap.DialWithTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if err := sc.Bind(readerDN, "reader-password"); err != nil {
		t.Fatalf("LDAPS bind: %v", err)
	}
}
