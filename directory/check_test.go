package directory_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

// populate gives d one of each kind of record that has index entries.
func populate(t *testing.T, d *directory.Directory) {
	t.Helper()
	ctx := context.Background()
	for _, u := range []directory.User{
		{UID: "alice", Mail: "alice@example.com", GivenName: "Alice", Surname: "Liddell"},
		{UID: "bob", DisplayName: "Bob  Builder"},
	} {
		if _, err := d.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	must(t, d.SetPassword(ctx, "alice", "correct horse battery"))
	for _, g := range []string{"staff", "admins"} {
		if _, err := d.CreateGroup(ctx, directory.Group{CN: g}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := d.ChangeMembers(ctx, "staff", []directory.MemberRef{{Name: "alice"}, {Name: "bob"}, {Group: true, Name: "admins"}}, nil)
	must(t, err)
	_, err = d.CreateBindAccount(ctx, "nas", []directory.Right{directory.RightRead}, "a long bind password")
	must(t, err)
	_, err = d.CreateApp(ctx, directory.App{Name: "wiki", EntityID: "https://wiki.example.com", ACS: []directory.Endpoint{{URL: "https://wiki.example.com/acs"}}})
	must(t, err)
	d.Audit(directory.AuditEvent{Kind: "login", Subject: "alice", Result: directory.ResultOK})
	_, err = d.AuditEvents(ctx, directory.AuditQuery{}) // flushes the audit log
	must(t, err)
}

func TestCheckFindsNothingInAWholeStore(t *testing.T) {
	d := newTestDir(t, newClock(), directory.Options{})
	populate(t, d)
	problems, err := d.Check(context.Background())
	must(t, err)
	if len(problems) > 0 {
		t.Fatalf("problems in a whole store: %v", problems)
	}
}

// Each damage is done straight to the store, as a crash or a bug would,
// and must be named by Check.
func TestCheckFindsBrokenIndexesBothWays(t *testing.T) {
	damages := []struct {
		name, bucket, want string
		damage             func(directory.Tx, map[string]string) error
	}{
		{"uid entry deleted", "ix.uid", "ix.uid/alice: entry missing", func(tx directory.Tx, _ map[string]string) error {
			return tx.Delete("ix.uid", "alice")
		}},
		{"stray uid entry", "ix.uid", "ix.uid/carol: no record", func(tx directory.Tx, _ map[string]string) error {
			return tx.Put("ix.uid", "carol", []byte("no-such-id"))
		}},
		{"mail points elsewhere", "ix.mail", "ix.mail/alice@example.com: points to", func(tx directory.Tx, ids map[string]string) error {
			return tx.Put("ix.mail", "alice@example.com", []byte(ids["bob"]))
		}},
		{"membership entry deleted", "ix.memberof", "ix.memberof/", func(tx directory.Tx, ids map[string]string) error {
			return tx.Delete("ix.memberof", ids["bob"]+"/"+ids["staff"])
		}},
		{"group name entry deleted", "ix.cn", "ix.cn/admins: group", func(tx directory.Tx, _ map[string]string) error {
			return tx.Delete("ix.cn", "admins")
		}},
		{"primary group the user is not in", "users", "not a member of primary group admins", func(tx directory.Tx, ids map[string]string) error {
			var admins struct {
				GIDNumber int `json:"gidNumber"`
			}
			raw, err := tx.Get("groups", ids["admins"])
			if err != nil || json.Unmarshal(raw, &admins) != nil {
				return fmt.Errorf("read admins: %v", err)
			}
			return editRecord(tx, "users", ids["alice"], func(u map[string]any) { u["gidNumber"] = admins.GIDNumber })
		}},
		{"credentials of nobody", "creds", "creds/ghost: belongs to no user", func(tx directory.Tx, _ map[string]string) error {
			return tx.Put("creds", "ghost", []byte(`{}`))
		}},
		{"record that does not decode", "users", "does not decode", func(tx directory.Tx, ids map[string]string) error {
			return tx.Put("users", ids["bob"], []byte(`{"uid":`))
		}},
	}
	for _, tc := range damages {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, filepath.Join(t.TempDir(), "atrium.db"))
			defer s.Close()
			d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams})
			must(t, err)
			defer d.Close()
			populate(t, d)
			ids := map[string]string{}
			for _, uid := range []string{"alice", "bob"} {
				u, err := d.User(ctx, uid)
				must(t, err)
				ids[uid] = u.ID
			}
			for _, cn := range []string{"staff", "admins"} {
				g, err := d.Group(ctx, cn)
				must(t, err)
				ids[cn] = g.ID
			}
			must(t, s.Update(ctx, func(tx directory.Tx) error { return tc.damage(tx, ids) }))
			problems, err := d.Check(ctx)
			must(t, err)
			var text []string
			for _, p := range problems {
				text = append(text, p.String())
			}
			if !strings.Contains(strings.Join(text, "\n"), tc.want) {
				t.Fatalf("Check found %q, want a problem containing %q", text, tc.want)
			}
		})
	}
}

// editRecord changes one field of a stored record, as a bug might, with no
// regard for indexes or rules.
func editRecord(tx directory.Tx, bucket, key string, edit func(map[string]any)) error {
	raw, err := tx.Get(bucket, key)
	if err != nil {
		return err
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	edit(v)
	if raw, err = json.Marshal(v); err != nil {
		return err
	}
	return tx.Put(bucket, key, raw)
}
