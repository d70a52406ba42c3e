package passkey

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/signin"
)

// The enrollment step registers a passkey only from a ceremony begun for
// the same flow, with a name, and proves hwk; every refusal is a message
// for the page, not a server error.
func TestEnrollmentStep(t *testing.T) {
	e := newPKEnv(t)
	alice := e.user(t, "alice", "Alice")
	enrollment := e.keys.Enrollment()
	flow := &signin.Flow{ID: "flow-1", UserID: alice.ID, Methods: []string{"pwd"}}

	page := httptest.NewRequest(http.MethodGet, "/login?flow=flow-1&kind=passkey", nil)
	form, err := enrollment.Form(page, flow)
	if err != nil || !strings.Contains(string(form), "data-passkey-enroll") || !strings.Contains(string(form), `name="ceremony"`) {
		t.Fatalf("form: %v\n%s", err, form)
	}

	submit := func(ceremony, name string, credential []byte) error {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		r.PostForm = url.Values{"ceremony": {ceremony}, "name": {name}, "credential": {string(credential)}}
		return enrollment.Submit(e.ctx, r, flow)
	}
	refusal := func(err error) string {
		var se *signin.StepError
		if !errors.As(err, &se) {
			t.Fatalf("%v is not a message for the page", err)
		}
		return se.Message
	}
	key := newSoftKey(t, pkOrigin, "id.example.com")
	begin := func(binding string) Challenge {
		t.Helper()
		c, err := e.keys.BeginRegistration(e.ctx, alice.ID, binding)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	c := begin("another-flow")
	if msg := refusal(submit(c.Ceremony, "Laptop", key.create(c))); !strings.Contains(msg, "expired") {
		t.Errorf("a ceremony of another flow: %q", msg)
	}
	c = begin(flow.ID)
	if msg := refusal(submit(c.Ceremony, "Laptop", []byte(`{"id":"x"}`))); !strings.Contains(msg, "could not be created") {
		t.Errorf("a broken credential: %q", msg)
	}
	c = begin(flow.ID)
	if msg := refusal(submit(c.Ceremony, " ", key.create(c))); !strings.Contains(msg, "Name the passkey") {
		t.Errorf("no name: %q", msg)
	}
	if slices.Contains(flow.Methods, MethodHWK) {
		t.Fatal("a refused enrollment proved hwk")
	}

	c = begin(flow.ID)
	if err := submit(c.Ceremony, "Laptop", key.create(c)); err != nil {
		t.Fatalf("enrollment: %v", err)
	}
	if !slices.Contains(flow.Methods, MethodHWK) {
		t.Errorf("methods %v, want hwk", flow.Methods)
	}
	factors, err := e.dir.Factors(e.ctx, alice.ID)
	if err != nil || len(factors) != 1 || factors[0].Name != "Laptop" {
		t.Errorf("factors %+v, %v", factors, err)
	}
}
