package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// The user page edits uidNumber and gidNumber through
// directory.UpdateUser: a new uidNumber carries the private group along, a
// gidNumber of an existing group makes it the primary group, and a number
// another user or group holds is refused with the directory's reason,
// shown as text, and nothing changes. Each change is audited.
func TestUserNumbers(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	ctx := context.Background()
	ops, _ := st.d.Group(ctx, "ops")
	admin, _ := st.d.User(ctx, "admin")
	c := st.client()
	c.signIn("/admin/", "admin")
	edit := func(uidNumber, gidNumber int) (*http.Response, string) {
		return c.submit("/admin/users/alice", "/admin/users/alice", url.Values{"mail": {"alice@example.com"},
			"uidnumber": {strconv.Itoa(uidNumber)}, "gidnumber": {strconv.Itoa(gidNumber)}})
	}
	if resp, body := edit(42000, 42000); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a new uidNumber: %d\n%.400s", resp.StatusCode, body)
	}
	if u, _ := st.d.User(ctx, "alice"); u.UIDNumber != 42000 || u.GIDNumber != 42000 {
		t.Errorf("after the edit alice has uidNumber %d, gidNumber %d; want 42000, 42000", u.UIDNumber, u.GIDNumber)
	}
	if resp, body := edit(42000, ops.GIDNumber); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ops's gidNumber: %d\n%.400s", resp.StatusCode, body)
	}
	if u, _ := st.d.User(ctx, "alice"); u.GIDNumber != ops.GIDNumber {
		t.Errorf("alice's gidNumber is %d, want ops's %d", u.GIDNumber, ops.GIDNumber)
	}
	if _, page := c.get("/admin/users/alice"); !strings.Contains(page, `id="group" name="group" value="ops"`) {
		t.Error("the page does not show ops as alice's primary group")
	}
	for _, bad := range []struct {
		uidNumber, gidNumber int
		want                 string
	}{
		{admin.UIDNumber, ops.GIDNumber, "uidNumber"},    // admin's
		{ops.GIDNumber, ops.GIDNumber, "group ops"},      // a group's number
		{42000, 777777, "no group has gidNumber 777777"}, // no such group
	} {
		resp, body := edit(bad.uidNumber, bad.gidNumber)
		if resp.StatusCode != http.StatusConflict && resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Not done") || !strings.Contains(body, bad.want) {
			t.Errorf("uidNumber %d, gidNumber %d: %d, want a refusal naming %q\n%.600s", bad.uidNumber, bad.gidNumber, resp.StatusCode, bad.want, body)
		}
		if u, _ := st.d.User(ctx, "alice"); u.UIDNumber != 42000 || u.GIDNumber != ops.GIDNumber {
			t.Errorf("a refused edit changed alice's numbers to %d, %d", u.UIDNumber, u.GIDNumber)
		}
	}
	if resp, body := c.submit("/admin/users/alice", "/admin/users/alice", url.Values{"mail": {"alice@example.com"}, "uidnumber": {"<b>x</b>"}}); resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "<b>x</b>") {
		t.Errorf("a uidNumber that is no number: %d, or shown as markup", resp.StatusCode)
	}
	_, raw := c.get("/admin/audit?service=console&format=json")
	var events []directory.AuditEvent
	json.Unmarshal([]byte(raw), &events)
	edits := slices.DeleteFunc(events, func(e directory.AuditEvent) bool {
		return e.Subject != "alice" || e.Detail != "user edit" || e.Actor != "admin"
	})
	if len(edits) != 2 {
		t.Errorf("%d audited edits of alice by admin, want 2 (refusals are not changes): %+v", len(edits), edits)
	}
}

// A number edit without the CSRF token is refused and changes nothing.
func TestUserNumbersNeedCSRF(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	c := st.client()
	c.signIn("/admin/", "admin")
	before, _ := st.d.User(context.Background(), "alice")
	resp, body := c.do("POST", "/admin/users/alice", url.Values{"mail": {"alice@example.com"}, "uidnumber": {"42000"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Form expired") {
		t.Errorf("a CSRF-less number edit: %d", resp.StatusCode)
	}
	if u, _ := st.d.User(context.Background(), "alice"); u.UIDNumber != before.UIDNumber {
		t.Errorf("alice's uidNumber changed without the CSRF token: %d", u.UIDNumber)
	}
}
