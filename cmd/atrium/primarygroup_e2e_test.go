package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPrimaryGroupCommands: user add --group, user set-group, and group
// list with and without --private, through the real binary.
func TestPrimaryGroupCommands(t *testing.T) {
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: testEnv(), tr: &transcript{}}
	const pw = "correct horse battery staple"
	c.okIn(t, pw, "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	staff := decodeJSON[groupRecord](t, c.ok(t, "group", "add", "staff", "--json"))
	c.okIn(t, pw, "user", "add", "dora", "--mail", "dora@example.com", "--group", "staff", "--password-stdin")
	dora := decodeJSON[userRecord](t, c.ok(t, "user", "show", "dora", "--json"))
	if dora.GIDNumber != staff.GIDNumber || !strings.Contains(strings.Join(dora.Groups, ","), "staff") {
		t.Errorf("dora after user add --group staff: %+v", dora)
	}
	r := c.fails(t, exitConflict, "group", "remove-member", "staff", "dora")
	if !strings.Contains(r.stderr, "primary group of dora") {
		t.Errorf("remove-member of a primary group: %s", r.stderr)
	}
	c.fails(t, exitExists, "group", "add", "alice")
	c.fails(t, exitNotFound, "user", "add", "erin", "--mail", "erin@example.com", "--group", "nosuch")

	plain := c.ok(t, "group", "list")
	if strings.Contains(plain, "alice") {
		t.Errorf("group list shows private groups:\n%s", plain)
	}
	all := c.ok(t, "group", "list", "--private")
	row := tableRow(t, all, "alice")
	if !strings.Contains(row, "private group of alice") || strings.Contains(all, "\ndora ") {
		t.Errorf("group list --private:\n%s", all)
	}

	out := c.ok(t, "user", "set-group", "dora")
	dora = decodeJSON[userRecord](t, c.ok(t, "user", "show", "dora", "--json"))
	if dora.GIDNumber != dora.UIDNumber || !strings.Contains(out, "private group (gidNumber "+strconv.Itoa(dora.UIDNumber)+")") {
		t.Errorf("after set-group without a group: %s%+v", out, dora)
	}
	c.ok(t, "group", "remove-member", "staff", "dora")
	c.ok(t, "user", "set-group", "dora", "staff")
	if dora = decodeJSON[userRecord](t, c.ok(t, "user", "show", "dora", "--json")); dora.GIDNumber != staff.GIDNumber {
		t.Errorf("after set-group staff: %+v", dora)
	}
}
