package ldapserver

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

// A client that pipelines searches and reads nothing holds no read
// transaction while the server waits on its socket: with a write timeout
// far longer than the test, writes through the directory (as the CLI
// makes them) and over LDAP still complete, and the file does not grow
// with pages bbolt could not reuse behind an old reader.
func TestStalledReaderHoldsNoTransaction(t *testing.T) {
	const writes, hang = 400, 30 * time.Second
	f := newFixture(t, Access{})
	s := &Server{Backend: f.b, WriteTimeout: 10 * time.Minute}
	ln := listenTCP(t)
	go s.Serve(smallSendBuffers{ln})
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	admin := connect(t, ln.Addr().String(), adminDN, "admin-password")
	stalled := stalledReader(t, ln.Addr().String())
	time.Sleep(300 * time.Millisecond) // the server fills both buffers and blocks
	before := fileSize(t, f.path)

	done := make(chan error, 1)
	go func() { done <- writeWhileStalled(f, admin, writes) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(hang):
		t.Fatalf("writes still blocked after %v behind a client that reads nothing", hang)
	}
	if after := fileSize(t, f.path); after > 2*before+1<<20 {
		t.Errorf("file grew from %d to %d bytes during %d writes beside a stalled reader", before, after, writes)
	}
	if got := admin.find(base, ldap.ScopeWholeSubtree, "(uid=alice)", "sshPublicKey"); len(got) != 1 || !strings.HasPrefix(got[0].GetAttributeValue("sshPublicKey"), "ssh-ed25519 key399-") {
		t.Errorf("alice after the writes: %v", got)
	}
	if openConns(s) != 2 {
		t.Errorf("%d connections open, want the admin's and the stalled client's", openConns(s))
	}
	stalled.Close()
}

// writeWhileStalled rewrites alice's keys through the directory and bob's
// name over LDAP, and reads over LDAP between them.
func writeWhileStalled(f *fixture, admin *client, n int) error {
	ctx := context.Background()
	pad := strings.Repeat("x", 4000)
	for i := range n {
		_, err := f.dir.UpdateUser(ctx, "alice", func(u *directory.User) error {
			u.SSHKeys = []string{fmt.Sprintf("ssh-ed25519 key%d-%s", i, pad)}
			return nil
		})
		if err != nil {
			return fmt.Errorf("update %d: %w", i, err)
		}
		if i%20 != 0 {
			continue
		}
		mod := ldap.NewModifyRequest("uid=bob,ou=people,dc=example,dc=com", nil)
		mod.Replace("displayName", []string{fmt.Sprintf("Bob %d", i)})
		if err := admin.Modify(mod); err != nil {
			return fmt.Errorf("ldap modify %d: %w", i, err)
		}
		if _, err := admin.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(uid=bob)", nil, nil)); err != nil {
			return fmt.Errorf("ldap search %d: %w", i, err)
		}
	}
	return nil
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// A search larger than one batch goes on where the last batch stopped:
// every entry comes exactly once, whether the walk scans records or
// follows an index's candidates, and the size limit counts across
// batches.
func TestSearchAcrossBatches(t *testing.T) {
	const users = 300 // each about 1 KiB: several batches
	f := newFixture(t, Access{})
	ctx := context.Background()
	key := "ssh-ed25519 " + strings.Repeat("k", 1000)
	var or strings.Builder
	or.WriteString("(|")
	for i := range users {
		uid := fmt.Sprintf("many%03d", i)
		if _, err := f.dir.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com", UIDNumber: 20000 + i, SSHKeys: []string{key}}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&or, "(uid=%s)", uid)
	}
	or.WriteString(")")
	_, addr := startServer(t, f)
	c := connect(t, addr, readerDN, "reader-password")
	for _, filter := range []string{"(objectClass=posixAccount)", or.String(), "(objectClass=posixGroup)"} {
		seen := map[string]int{}
		for _, e := range c.find(base, ldap.ScopeWholeSubtree, filter) {
			seen[e.DN]++
		}
		want := users
		if filter == "(objectClass=posixAccount)" {
			want += 3 // alice, bob and carol
		}
		if filter == "(objectClass=posixGroup)" {
			want = users + 3 + 3 // private groups and staff, everyone, empty
		}
		if len(seen) != want {
			t.Errorf("%.40s: %d entries, want %d", filter, len(seen), want)
		}
		for dn, n := range seen {
			if n != 1 {
				t.Errorf("%.40s: %s sent %d times", filter, dn, n)
			}
		}
	}
	res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 250, 0, false, "(objectClass=posixAccount)", nil, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || len(res.Entries) != 250 {
		t.Errorf("size limit 250: %d entries, err %v", len(res.Entries), err)
	}
}

// Clients that pipeline large searches and read nothing hold a bounded
// number of response bytes each: at most MaxInFlight operations run, and
// of those only a few hold a batch of entries waiting for the socket.
func TestQueuedResponsesBounded(t *testing.T) {
	const users, conns, perConn = 300, 8, 512 << 10
	f := newFixture(t, Access{})
	ctx := context.Background()
	key := "ssh-ed25519 " + strings.Repeat("k", 1000)
	for i := range users {
		uid := fmt.Sprintf("big%03d", i)
		if _, err := f.dir.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com", UIDNumber: 20000 + i, SSHKeys: []string{key}}); err != nil {
			t.Fatal(err)
		}
	}
	s := &Server{Backend: f.b, WriteTimeout: 10 * time.Minute}
	ln := listenTCP(t)
	go s.Serve(smallSendBuffers{ln})
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	before := heapInUse()
	for range conns {
		stalledReader(t, ln.Addr().String())
	}
	time.Sleep(time.Second) // every connection's operations start and block
	grew := int64(heapInUse()) - int64(before)
	t.Logf("heap grew by %d KiB for %d stalled connections", grew>>10, conns)
	if grew > conns*perConn {
		t.Errorf("heap grew by %d KiB for %d stalled connections, want at most %d KiB each", grew>>10, conns, perConn>>10)
	}
	other := connect(t, ln.Addr().String(), readerDN, "reader-password")
	if got := other.find(base, ldap.ScopeWholeSubtree, "(uid=alice)"); len(got) != 1 {
		t.Errorf("another client found %d entries", len(got))
	}
}
