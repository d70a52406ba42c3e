package samlidp_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/directory/etcdstore"
	"github.com/atrium-dir/atrium/directory/etcdstore/etcdtest"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/internal/sitetest"
	"github.com/atrium-dir/atrium/samlidp"
	"github.com/atrium-dir/atrium/web"
)

// etcdNode serves a node's sign-in pages and IdP over its own directory
// on the cluster at endpoint, as one of several Atrium nodes on etcd,
// and returns the directory, its store and the node's URL.
func etcdNode(t *testing.T, endpoint, prefix string, key []byte) (*directory.Directory, *etcdstore.Store, string) {
	t.Helper()
	ctx := context.Background()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	must(t, err)
	t.Cleanup(func() { cli.Close() })
	s, err := etcdstore.Open(ctx, cli, etcdstore.Options{Prefix: prefix})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams, SecretKey: key})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	must(t, samlidp.EnsureKey(ctx, d))

	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	ext, _ := url.Parse("http://" + srv.Listener.Addr().String())
	mux, e := sitetest.New(d, ext, time.Now)
	idp := samlidp.New(d, e, samlidp.Options{Logger: slog.New(slog.DiscardHandler)})
	mux.Handle("/saml/", web.Protect(idp.Handler(), nil))
	srv.Config.Handler = mux
	srv.Start()
	return d, s, srv.URL
}

// TestRequestAnsweredOnOneNodeIsRefusedOnAnother: two nodes on one etcd
// cluster; an AuthnRequest answered with a Response on node A, sent again
// to node B (whose in-memory replay cache never saw it), is refused there
// once alice has signed in, instead of answered a second time. A request
// B never answered gets its Response as usual.
func TestRequestAnsweredOnOneNodeIsRefusedOnAnother(t *testing.T) {
	c, err := etcdtest.Start(t.TempDir(), 3)
	t.Cleanup(c.Close)
	must(t, err)
	key := make([]byte, 32)
	rand.Read(key)
	dirA, _, baseA := etcdNode(t, c.Endpoints[0], "/corp", key)
	_, storeB, baseB := etcdNode(t, c.Endpoints[1], "/corp", key)
	dirtest.AddPeople(t, dirA)
	_, err = samlidp.Register(context.Background(), dirA, samlidp.AppSpec{Name: "cloudflare", Preset: "cloudflare", EntityID: cloudflareACS, ACS: cloudflareACS, Groups: []string{"everyone"}})
	must(t, err)
	must(t, storeB.Sync(context.Background()))

	request := authnXML("id-answered-once", cloudflareACS, "", time.Now(), "")
	a := newBrowser(t)
	samlResponse(t, a.signIn(baseA, a.get(redirectRequest(baseA, request, "")), "alice", "alice-password"), cloudflareACS)

	b := newBrowser(t)
	login := b.get(redirectRequest(baseB, request, ""))
	refused := b.signIn(baseB, login, "alice", "alice-password")
	if refused.status != 400 || !strings.Contains(refused.body, "already used") {
		t.Fatalf("node B answered a request node A had answered: %d\n%s", refused.status, refused.body)
	}
	if got := errorStatus(t, refused); got != saml.StatusRequestDenied {
		t.Errorf("node B's refusal carries SAML status %q, want RequestDenied", got)
	}

	fresh := authnXML("id-only-on-b", cloudflareACS, "", time.Now(), "")
	samlResponse(t, b.get(redirectRequest(baseB, fresh, "")), cloudflareACS)

	// Requests nobody signs in for still write nothing to the cluster.
	// The sign-ins' backoff records are written in the background: wait
	// until they are in.
	before := settledStateRecords(t, c.Endpoints[2], "/corp")
	for i := range 50 {
		anonymous := authnXML(fmt.Sprintf("id-anonymous-%d", i), cloudflareACS, "", time.Now(), "")
		if p := newBrowser(t).get(redirectRequest(baseB, anonymous, "")); !strings.Contains(p.body, `name="password"`) {
			t.Fatalf("an anonymous request got %d, not the login page:\n%s", p.status, p.body)
		}
	}
	if after := settledStateRecords(t, c.Endpoints[2], "/corp"); after != before {
		t.Errorf("50 anonymous AuthnRequests changed the cluster's state records from %d to %d", before, after)
	}
}

// settledStateRecords is stateRecords once it has not changed for half a
// second.
func settledStateRecords(t *testing.T, endpoint, prefix string) int64 {
	t.Helper()
	n := stateRecords(t, endpoint, prefix)
	for range 20 {
		time.Sleep(500 * time.Millisecond)
		m := stateRecords(t, endpoint, prefix)
		if m == n {
			return n
		}
		n = m
	}
	t.Fatalf("the cluster's state records kept changing (%d)", n)
	return n
}

// stateRecords counts the records of the state bucket (sessions, flows,
// claims) under prefix, read from the cluster at endpoint.
func stateRecords(t *testing.T, endpoint, prefix string) int64 {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	must(t, err)
	defer cli.Close()
	resp, err := cli.Get(context.Background(), prefix+"/d/state\x00", clientv3.WithPrefix(), clientv3.WithCountOnly())
	must(t, err)
	return resp.Count
}
