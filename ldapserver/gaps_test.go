package ldapserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/ldapserver/internal/lber"
)

// Tests for points of the issue that the behaviour, robustness and
// interop tests leave open.

// gapRaw is a connection that speaks LDAP by hand, for what go-ldap cannot
// send (reused message IDs, an Abandon at the right moment, oversized
// messages).
type gapRaw struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func gapDial(t *testing.T, addr string) *gapRaw {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &gapRaw{t, nc, bufio.NewReader(nc)}
}

func (r *gapRaw) send(id int64, op *ber.Packet, controls ...*ber.Packet) {
	r.t.Helper()
	var cs []byte
	for _, c := range controls {
		cs = append(cs, c.Bytes()...)
	}
	if _, err := r.nc.Write(lber.Envelope(id, op.Bytes(), cs)); err != nil {
		r.t.Fatal(err)
	}
}

// next reads one message and returns its ID, operation tag and, for a
// result, its code.
func (r *gapRaw) next() (id int64, tag int, code int64) {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	raw, err := lber.ReadMessage(r.br, r.br, 16<<20, nil)
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	p, err := ber.DecodePacketErr(raw)
	if err != nil {
		r.t.Fatal(err)
	}
	id, _ = p.Children[0].Value.(int64)
	op := p.Children[1]
	if len(op.Children) > 0 && op.Tag != 4 {
		code, _ = op.Children[0].Value.(int64)
	}
	return id, int(op.Tag), code
}

// result reads until the final response of a request and returns its code.
func (r *gapRaw) result() (entries int, code int64) {
	r.t.Helper()
	for {
		_, tag, c := r.next()
		if tag == 4 {
			entries++
			continue
		}
		return entries, c
	}
}

func gapBind(dn, pw string) *ber.Packet {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opBind, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(3), ""))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	p.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, pw, ""))
	return p
}

func gapSearch(t *testing.T, baseDN string, scope int, filter string, attrs ...string) *ber.Packet {
	t.Helper()
	f, err := ldap.CompileFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opSearch, nil, "")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, baseDN, ""))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(scope), ""))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(0), ""))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), ""))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), ""))
	p.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
	p.AppendChild(f)
	as := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	for _, a := range attrs {
		as.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, ""))
	}
	p.AppendChild(as)
	return p
}

// A client may reuse a message ID as soon as it has the response (RFC 4511
// 4.1.1.1); the ending operation must not cancel the new one.
func TestMessageIDReusedAfterResponse(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	c := gapDial(t, addr)
	c.send(1, gapBind(readerDN, "reader-password"))
	if _, code := c.result(); code != 0 {
		t.Fatalf("bind: %d", code)
	}
	for i := range 2000 {
		c.send(1, gapSearch(t, base, scopeSub, "(uid=alice)", "uid"))
		if n, code := c.result(); code != 0 || n != 1 {
			t.Fatalf("search %d with a reused ID: %d entries, code %d", i, n, code)
		}
	}
}

// gapStore wraps the fixture's bbolt store: it counts the records a
// directory read touches, and can hold reads until they are released or
// cancelled, to stand for a slow search.
type gapStore struct {
	directory.Store
	reads     atomic.Int64
	hold      atomic.Bool
	held      chan struct{} // one value per read that starts waiting
	release   chan struct{} // closed to let held reads go on
	cancelled chan error    // the reason of every held read given up
	inFlight  atomic.Int64
	most      atomic.Int64 // the largest number of reads held at once
}

func newGapStore() *gapStore {
	return &gapStore{held: make(chan struct{}, 64), release: make(chan struct{}), cancelled: make(chan error, 64)}
}

func (s *gapStore) wrap(inner directory.Store) directory.Store { s.Store = inner; return s }

func (s *gapStore) View(ctx context.Context, fn func(directory.Tx) error) error {
	if s.hold.Load() {
		n := s.inFlight.Add(1)
		for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
		}
		s.held <- struct{}{}
		select {
		case <-s.release:
			s.inFlight.Add(-1)
		case <-ctx.Done():
			s.inFlight.Add(-1)
			s.cancelled <- ctx.Err()
			return ctx.Err()
		}
	}
	return s.Store.View(ctx, func(tx directory.Tx) error { return fn(gapTx{tx, &s.reads}) })
}

type gapTx struct {
	directory.Tx
	reads *atomic.Int64
}

func (t gapTx) Get(bucket, key string) ([]byte, error) {
	t.reads.Add(1)
	return t.Tx.Get(bucket, key)
}

func (t gapTx) Scan(bucket, prefix, after string, fn func(string, []byte) error) error {
	return t.Tx.Scan(bucket, prefix, after, func(k string, v []byte) error {
		t.reads.Add(1)
		return fn(k, v)
	})
}

// Abandon cancels a search that is running, and the search then gets no
// response at all (RFC 4511 4.11).
func TestAbandonCancelsRunningSearch(t *testing.T) {
	store := newGapStore()
	f := newFixtureOn(t, Access{}, store.wrap)
	_, addr := startServer(t, f)
	c := gapDial(t, addr)
	c.send(1, gapBind(readerDN, "reader-password"))
	if _, code := c.result(); code != 0 {
		t.Fatalf("bind: %d", code)
	}
	store.hold.Store(true)
	c.send(2, gapSearch(t, base, scopeSub, "(objectClass=*)"))
	<-store.held
	c.send(3, ber.NewInteger(ber.ClassApplication, ber.TypePrimitive, opAbandon, int64(2), ""))
	select {
	case err := <-store.cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the held search ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Abandon did not cancel the running search")
	}
	store.hold.Store(false)
	who := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opExtended, nil, "")
	who.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, oidWhoAmI, ""))
	c.send(4, who)
	if id, tag, code := c.next(); id != 4 || tag != tagExtendedResponse&0x1f || code != 0 {
		t.Fatalf("after the abandon: message %d tag %d code %d; want only the Who Am I answer (4)", id, tag, code)
	}
}

// At most MaxInFlight operations of one connection run at once; the rest
// wait their turn and are all answered.
func TestInFlightBoundPerConnection(t *testing.T) {
	store := newGapStore()
	f := newFixtureOn(t, Access{}, store.wrap)
	_, addr := startServer(t, f, func(s *Server) { s.MaxInFlight = 2 })
	c := gapDial(t, addr)
	c.send(1, gapBind(readerDN, "reader-password"))
	if _, code := c.result(); code != 0 {
		t.Fatalf("bind: %d", code)
	}
	store.hold.Store(true)
	for id := int64(10); id < 15; id++ {
		c.send(id, gapSearch(t, aliceDN, scopeBase, "(objectClass=*)", "uid"))
	}
	<-store.held
	<-store.held
	select {
	case <-store.held:
		t.Fatal("a third operation started while two were running")
	case <-time.After(200 * time.Millisecond):
	}
	close(store.release)
	for range 5 {
		if _, code := c.result(); code != 0 {
			t.Fatalf("search: %d", code)
		}
	}
	if most := store.most.Load(); most != 2 {
		t.Errorf("%d operations ran at once, want 2", most)
	}
}

// An equality on an indexed attribute inside an AND reads a handful of
// records, not the whole directory.
func TestIndexedEqualityReadsFewRecords(t *testing.T) {
	store := newGapStore()
	f := newFixtureOn(t, Access{}, store.wrap)
	ctx := context.Background()
	err := f.dir.Batch(ctx, func(b *directory.Batch) error {
		for i := range 2000 {
			if _, err := b.CreateUser(directory.User{UID: fmt.Sprintf("idx%04d", i), Mail: fmt.Sprintf("idx%04d@example.com", i), Surname: "Indexed"}); err != nil {
				return err
			}
		}
		// A user whose common name is also a group's.
		_, err := b.CreateUser(directory.User{UID: "staffer", DisplayName: "Staff"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	staffer := "uid=staffer," + peopleDN
	w := f.as(t, readerDN, "reader-password")
	alice, err := f.dir.User(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	alicePrivate, _ := alice.PrivateGroup()
	aliceGroupDN := "cn=alice," + groupsDN
	staff, err := f.dir.Group(ctx, "staff")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		filter string
		want   []string
	}{
		{"(&(objectClass=inetOrgPerson)(uid=alice))", []string{aliceDN}},
		{"(&(objectClass=person)(mail=ALICE@example.com))", []string{aliceDN}},
		{"(&(objectClass=posixGroup)(cn=staff))", []string{staffDN}},
		{"(&(objectClass=posixAccount)(uidNumber=10001))", []string{aliceDN}},
		{fmt.Sprintf("(&(objectClass=posixGroup)(gidNumber=%d))", staff.GIDNumber), []string{staffDN}},
		{"(&(objectClass=*)(entryUUID=" + alice.ID + "))", []string{aliceDN}},
		{"(&(objectClass=posixGroup)(gidNumber=10001))", []string{aliceGroupDN}},
		{"(&(objectClass=posixGroup)(cn=alice))", []string{aliceGroupDN}},
		{"(&(objectClass=*)(entryUUID=" + alicePrivate.ID + "))", []string{aliceGroupDN}},
		{"(&(objectClass=groupOfNames)(member=" + aliceDN + "))", []string{aliceGroupDN, staffDN}},
		{"(&(objectClass=groupOfUniqueNames)(uniqueMember=" + aliceDN + "))", []string{aliceGroupDN, staffDN}},
		{"(&(objectClass=posixGroup)(memberUid=alice))", []string{aliceGroupDN, staffDN}},
		{"(&(objectClass=person)(memberOf=" + staffDN + "))", []string{aliceDN, bobDN}},
		{"(&(objectClass=posixGroup)(|(memberUid=alice)(member=" + aliceDN + ")))", []string{aliceGroupDN, staffDN}},
		// cn folds case and spaces; users and groups both answer from an index.
		{"(&(objectClass=person)(cn= alice  LIDDELL))", []string{aliceDN}},
		{"(&(objectClass=*)(cn=STAFF))", []string{staffDN, staffer}},
		{"(&(objectClass=posixGroup)(cn=  staff ))", []string{staffDN}},
		{"(&(objectClass=*)(cn=nobody at all))", nil},
	}
	for _, c := range cases {
		store.reads.Store(0)
		got, res := f.search(t, w, base, scopeSub, c.filter)
		if res.code != 0 || !slices.Equal(dns(got), c.want) {
			t.Errorf("%s: code %d, %v; want %v", c.filter, res.code, dns(got), c.want)
		}
		if n := store.reads.Load(); n > 60 {
			t.Errorf("%s read %d records: not answered from an index", c.filter, n)
		}
	}
	// The counter does see a scan.
	store.reads.Store(0)
	if got, _ := f.search(t, w, base, scopeSub, "(&(objectClass=person)(sn=Indexed))"); len(got) != 2000 || store.reads.Load() < 2000 {
		t.Errorf("scan: %d entries in %d reads", len(got), store.reads.Load())
	}
}

func TestSearchLimitsAndTypesOnly(t *testing.T) {
	store := newGapStore()
	f := newFixtureOn(t, Access{}, store.wrap)
	_, addr := startServer(t, f)
	c := connect(t, addr, readerDN, "reader-password")
	t.Run("size limit", func(t *testing.T) {
		res, err := c.Search(ldap.NewSearchRequest(peopleDN, ldap.ScopeSingleLevel, 0, 2, 0, false, "(objectClass=*)", []string{"uid"}, nil))
		if resultCode(err) != ldap.LDAPResultSizeLimitExceeded || res == nil || len(res.Entries) != 2 {
			t.Fatalf("size limit 2 of 3 users: %v, %+v", err, res)
		}
		if res, err := c.Search(ldap.NewSearchRequest(peopleDN, ldap.ScopeSingleLevel, 0, 3, 0, false, "(objectClass=*)", []string{"uid"}, nil)); err != nil || len(res.Entries) != 3 {
			t.Fatalf("size limit equal to the count: %v", err)
		}
	})
	t.Run("typesOnly", func(t *testing.T) {
		res, err := c.Search(ldap.NewSearchRequest(aliceDN, ldap.ScopeBaseObject, 0, 0, 0, true, "(objectClass=*)", []string{"uid", "mail"}, nil))
		if err != nil || len(res.Entries) != 1 || len(res.Entries[0].Attributes) != 2 {
			t.Fatalf("typesOnly: %v %+v", err, res)
		}
		for _, a := range res.Entries[0].Attributes {
			if len(a.Values) != 0 {
				t.Errorf("typesOnly returned values of %s", a.Name)
			}
		}
	})
	t.Run("time limit", func(t *testing.T) {
		store.hold.Store(true)
		defer store.hold.Store(false)
		_, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 1, false, "(uid=alice)", nil, nil))
		if resultCode(err) != ldap.LDAPResultTimeLimitExceeded {
			t.Fatalf("a search held past its 1 s time limit: %v", err)
		}
	})
}

func TestSASLBindAndUnbind(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	c := gapDial(t, addr)
	sasl := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opBind, nil, "")
	sasl.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(3), ""))
	sasl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	creds := ber.Encode(ber.ClassContext, ber.TypeConstructed, 3, nil, "")
	creds.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "EXTERNAL", ""))
	sasl.AppendChild(creds)
	c.send(1, sasl)
	if _, code := c.result(); code != ldap.LDAPResultAuthMethodNotSupported {
		t.Fatalf("SASL bind: code %d, want authMethodNotSupported", code)
	}
	c.send(2, gapBind(readerDN, "reader-password"))
	if _, code := c.result(); code != 0 {
		t.Fatalf("simple bind after a SASL one: %d", code)
	}
	c.send(3, ber.Encode(ber.ClassApplication, ber.TypePrimitive, opUnbind, nil, ""))
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.br.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("after Unbind the server did not close: %d bytes, %v", n, err)
	}
}

// Operations Atrium does not allow get their own result code, and the
// connection goes on.
func TestRefusedOperationsKeepTheConnection(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	reader := connect(t, addr, readerDN, "reader-password")
	admin := connect(t, addr, adminDN, "admin-password")
	alice := connect(t, addr, aliceDN, "alice-password")
	cases := []struct {
		name string
		c    *client
		do   func(*client) error
		want uint16
	}{
		{"add by a read account", reader, func(c *client) error {
			a := ldap.NewAddRequest("uid=eve,ou=people,dc=example,dc=com", nil)
			a.Attribute("objectClass", []string{"inetOrgPerson"})
			a.Attribute("sn", []string{"Eve"})
			return c.Add(a)
		}, ldap.LDAPResultInsufficientAccessRights},
		{"delete by a user", alice, func(c *client) error { return c.Del(ldap.NewDelRequest(bobDN, nil)) }, ldap.LDAPResultInsufficientAccessRights},
		{"modify DN by a read account", reader, func(c *client) error {
			return c.ModifyDN(ldap.NewModifyDNRequest(bobDN, "uid=robert", true, ""))
		}, ldap.LDAPResultInsufficientAccessRights},
		{"delete ou=people", admin, func(c *client) error { return c.Del(ldap.NewDelRequest(peopleDN, nil)) }, ldap.LDAPResultNotAllowedOnNonLeaf},
		{"modify a bind account", admin, func(c *client) error {
			m := ldap.NewModifyRequest(readerDN, nil)
			m.Replace("description", []string{"x"})
			return c.Modify(m)
		}, ldap.LDAPResultUnwillingToPerform},
		{"unknown extended operation", reader, func(c *client) error {
			_, err := c.Extended(ldap.NewExtendedRequest("1.3.6.1.4.1.1466.101.119.1", nil)) // dynamic refresh
			return err
		}, ldap.LDAPResultProtocolError},
		{"compare userPassword", admin, func(c *client) error {
			_, err := c.Compare(aliceDN, "userPassword", "alice-password")
			return err
		}, ldap.LDAPResultInsufficientAccessRights},
	}
	for _, tc := range cases {
		if got := resultCode(tc.do(tc.c)); got != tc.want {
			t.Errorf("%s: code %d, want %d", tc.name, got, tc.want)
		}
		if got := tc.c.find(aliceDN, ldap.ScopeBaseObject, "(objectClass=*)", "uid"); len(got) != 1 {
			t.Errorf("%s: the connection stopped working", tc.name)
		}
	}
}

// An admin bind account renames a user over LDAP; the entry keeps its
// entryUUID and group memberships follow.
func TestModifyDNByAdmin(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	admin := connect(t, addr, adminDN, "admin-password")
	before := admin.find(bobDN, ldap.ScopeBaseObject, "(objectClass=*)", "entryUUID")[0].GetAttributeValue("entryUUID")
	if err := admin.ModifyDN(ldap.NewModifyDNRequest(bobDN, "uid=robert", true, "")); err != nil {
		t.Fatal(err)
	}
	robert := "uid=robert,ou=people,dc=example,dc=com"
	got := admin.find(robert, ldap.ScopeBaseObject, "(objectClass=*)", "entryUUID", "uid")
	if len(got) != 1 || got[0].GetAttributeValue("entryUUID") != before || got[0].GetAttributeValue("uid") != "robert" {
		t.Fatalf("after ModifyDN: %+v", got)
	}
	if g := admin.find(staffDN, ldap.ScopeBaseObject, "(objectClass=*)", "member", "memberUid")[0]; !slices.Contains(g.GetAttributeValues("member"), robert) || !slices.Contains(g.GetAttributeValues("memberUid"), "robert") {
		t.Errorf("staff after the rename: %v %v", g.GetAttributeValues("member"), g.GetAttributeValues("memberUid"))
	}
	if code := admin.code(bobDN, ldap.ScopeBaseObject, "(objectClass=*)"); code != ldap.LDAPResultNoSuchObject {
		t.Errorf("the old DN still answers: %d", code)
	}
}

func TestAccessOptions(t *testing.T) {
	t.Run("anonymous base", func(t *testing.T) {
		_, addr := startServer(t, newFixture(t, Access{Anonymous: AnonymousBase}))
		c := connect(t, addr, "", "")
		if got := c.find(base, ldap.ScopeBaseObject, "(objectClass=*)"); len(got) != 1 {
			t.Errorf("base entry: %v", entryDNs(got))
		}
		if got := c.find(base, ldap.ScopeWholeSubtree, "(uid=alice)"); len(got) != 0 {
			t.Errorf("anonymous base read shows users: %v", entryDNs(got))
		}
	})
	t.Run("anonymous tree", func(t *testing.T) {
		_, addr := startServer(t, newFixture(t, Access{Anonymous: AnonymousTree}))
		c := connect(t, addr, "", "")
		e := c.find(base, ldap.ScopeWholeSubtree, "(uid=alice)", "mail", "userPassword", "sambaNTPassword")
		if len(e) != 1 || e[0].GetAttributeValue("mail") == "" || e[0].GetAttributeValue("userPassword") != "" || e[0].GetAttributeValue("sambaNTPassword") != "" {
			t.Errorf("anonymous tree read: %+v", e)
		}
	})
	t.Run("users read only themselves", func(t *testing.T) {
		_, addr := startServer(t, newFixture(t, Access{Users: UserReadSelf}))
		c := connect(t, addr, aliceDN, "alice-password")
		if got := entryDNs(c.find(base, ldap.ScopeWholeSubtree, "(|(uid=alice)(uid=bob)(cn=staff))")); !slices.Equal(got, []string{aliceDN}) {
			t.Errorf("alice sees %v", got)
		}
		if got := connect(t, addr, readerDN, "reader-password").find(base, ldap.ScopeWholeSubtree, "(uid=bob)"); len(got) != 1 {
			t.Errorf("the read account lost access")
		}
	})
	t.Run("userPassword is never returned, not even to an admin", func(t *testing.T) {
		_, addr := startServer(t, newFixture(t, Access{}))
		for _, who := range [][2]string{{adminDN, "admin-password"}, {sambaDN, "samba-password"}, {aliceDN, "alice-password"}} {
			e := connect(t, addr, who[0], who[1]).find(aliceDN, ldap.ScopeBaseObject, "(objectClass=*)", "userPassword", "*", "+")
			if len(e) != 1 || e[0].GetAttributeValue("userPassword") != "" {
				t.Errorf("%s read userPassword", who[0])
			}
		}
	})
}

// Binds go through the directory's rules: disabled users fail, app
// passwords work, backoff counts LDAP failures, and the audit log has the
// client's address.
func TestBindRules(t *testing.T) {
	f := newFixture(t, Access{})
	ctx := context.Background()
	_, addr := startServer(t, f)
	c := dial(t, addr)
	if err := c.Bind("uid=carol,ou=people,dc=example,dc=com", "carol-password"); resultCode(err) != ldap.LDAPResultInvalidCredentials {
		t.Errorf("disabled carol: %v", err)
	}
	app, err := f.dir.AddAppPassword(ctx, "alice", "nas")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(aliceDN, app); err != nil {
		t.Errorf("bind with an app password: %v", err)
	}
	if err := c.Bind(bobDN, app); resultCode(err) != ldap.LDAPResultInvalidCredentials {
		t.Errorf("alice's app password worked for bob: %v", err)
	}
	events, err := f.dir.AuditEvents(ctx, directory.AuditQuery{Subject: "bob"})
	if err != nil || len(events) == 0 || events[len(events)-1].Remote != "127.0.0.1" || events[len(events)-1].Service != "ldap" {
		t.Errorf("audit of bob's failed bind: %+v %v", events, err)
	}
	for range 6 {
		c.Bind(bobDN, "guess")
	}
	if err := c.Bind(bobDN, "bob-password"); resultCode(err) != ldap.LDAPResultInvalidCredentials {
		t.Errorf("right password from an address that kept guessing: %v, want refused by backoff", err)
	}
}

// Password Modify without a new password generates one, returned once, and
// the old password (cached from an earlier bind) stops working at once.
func TestPasswordModifyGeneratesAndDropsCachedBind(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	alice := connect(t, addr, aliceDN, "alice-password")
	connect(t, addr, aliceDN, "alice-password") // a repeat bind, now cached
	res, err := alice.PasswordModify(ldap.NewPasswordModifyRequest("", "alice-password", ""))
	if err != nil || len(res.GeneratedPassword) < 16 {
		t.Fatalf("generated: %+v %v", res, err)
	}
	if err := dial(t, addr).Bind(aliceDN, "alice-password"); resultCode(err) != ldap.LDAPResultInvalidCredentials {
		t.Errorf("old password still binds (from the cache?): %v", err)
	}
	if err := dial(t, addr).Bind(aliceDN, res.GeneratedPassword); err != nil {
		t.Errorf("generated password: %v", err)
	}
}

// A request over MaxMessageSize ends the connection with a notice; one
// under it is served.
func TestMaxMessageSize(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f, func(s *Server) { s.MaxMessageSize = 512 })
	small := gapDial(t, addr)
	small.send(1, gapBind(readerDN, "reader-password"))
	if _, code := small.result(); code != 0 {
		t.Fatalf("a small request: %d", code)
	}
	big := gapDial(t, addr)
	big.send(1, gapBind(readerDN, strings.Repeat("x", 600)))
	if id, tag, code := big.next(); id != 0 || tag != tagExtendedResponse&0x1f || code != ldap.LDAPResultProtocolError {
		t.Fatalf("oversized request: message %d tag %d code %d; want a notice of disconnection", id, tag, code)
	}
}

// Groups carry sambaGroupMapping with Samba on; users carry ldapPublicKey
// only when they have keys.
func TestObjectClassesFollowData(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	c := connect(t, addr, readerDN, "reader-password")
	if oc := c.find(staffDN, ldap.ScopeBaseObject, "(objectClass=*)", "objectClass", "sambaSID", "sambaGroupType")[0]; !slices.Contains(oc.GetAttributeValues("objectClass"), "sambaGroupMapping") || oc.GetAttributeValue("sambaGroupType") != "2" {
		t.Errorf("staff: %+v", oc.Attributes)
	}
	if oc := c.find(bobDN, ldap.ScopeBaseObject, "(objectClass=*)", "objectClass")[0].GetAttributeValues("objectClass"); slices.Contains(oc, "ldapPublicKey") {
		t.Errorf("bob has no keys but is ldapPublicKey: %v", oc)
	}
}
