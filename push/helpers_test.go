package push_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/push"
)

type clock = dirtest.Clock

// fakeConfirmer stands in for the passkey package, and only for it. Its
// ceremonies are single use and remember their binding; the "assertion" it
// accepts is the binding itself, which is enough to show that approval
// demands a confirmation bound to the transaction and the chosen number.
type fakeConfirmer struct {
	// noPasskey: the user has no passkey to confirm with.
	noPasskey  bool
	mu         sync.Mutex
	ceremonies map[string]string // ceremony -> binding
	n          int
}

func (c *fakeConfirmer) HasPasskey(context.Context, string) (bool, error) { return !c.noPasskey, nil }

func (c *fakeConfirmer) BeginConfirm(_ context.Context, userID, binding string) (string, any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	id := fmt.Sprintf("ceremony-%d", c.n)
	c.ceremonies[id] = userID + " " + binding
	return id, map[string]any{"publicKey": map[string]any{"challenge": "AAAA", "userVerification": "required"}}, nil
}

func (c *fakeConfirmer) FinishConfirm(_ context.Context, userID, binding, ceremony string, assertion []byte, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	bound, ok := c.ceremonies[ceremony]
	delete(c.ceremonies, ceremony)
	if !ok || bound != userID+" "+binding || string(assertion) != strconv.Quote(binding) {
		return errors.New("assertion refused")
	}
	return nil
}

// confirmation is what a phone sends for tx after picking number and
// beginning ceremony: an assertion over the binding of that number.
func confirmation(tx push.Transaction, number int, ceremony string) push.Confirmation {
	return push.Confirmation{Number: number, Ceremony: ceremony, Assertion: []byte(strconv.Quote(tx.Binding(number)))}
}

// fixture is a real directory with user alice, a test push service and
// the approvals over them.
type fixture struct {
	dir   *directory.Directory
	clock *clock
	svc   *pushService
	keys  push.VAPID
	alice directory.User
	ap    *push.Approvals
	// notifier sends to the test push service.
	notifier *push.WebPush
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{clock: dirtest.NewClock(time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC))}
	f.dir = dirtest.New(t, f.clock.Now)
	var err error
	if f.keys, err = push.EnsureVAPID(ctx, f.dir); err != nil {
		t.Fatal(err)
	}
	if f.alice, err = f.dir.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com", DisplayName: "Alice"}); err != nil {
		t.Fatal(err)
	}
	f.svc = newPushService(t, f.keys.PublicKey())
	f.notifier = &push.WebPush{Keys: f.keys, Subscriber: push.Subscriber("https://sso.example.com"), Client: f.svc.srv.Client()}
	f.ap = push.NewApprovals(f.dir, f.notifier, &fakeConfirmer{ceremonies: map[string]string{}}, nil)
	return f
}

// enroll adds a phone for user at the push service and returns its factor.
func (f *fixture) enroll(t testing.TB, u directory.User, name string) directory.Factor {
	t.Helper()
	sub := f.svc.add(newPushDevice(t, name))
	fa, err := f.dir.AddFactor(context.Background(), u.ID, directory.Factor{Kind: directory.FactorPush, Name: name}, sub)
	if err != nil {
		t.Fatal(err)
	}
	return fa
}

func (f *fixture) start(t *testing.T, u directory.User) push.Transaction {
	t.Helper()
	tx, err := f.ap.Start(context.Background(), push.Request{UserID: u.ID, App: "Grafana", IP: "192.0.2.7", UserAgent: firefoxLinux})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

const firefoxLinux = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"

// auditResults lists the push audit results of uid, oldest first.
func (f *fixture) auditResults(t *testing.T, uid string) []string {
	t.Helper()
	events, err := f.dir.AuditEvents(context.Background(), directory.AuditQuery{Subject: uid, Kind: "mfa"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		if e.Service == "push" {
			out = append(out, e.Result)
		}
	}
	return out
}
