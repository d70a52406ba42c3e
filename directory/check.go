package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Problem is one broken invariant found by Check.
type Problem struct {
	Bucket string
	Key    string
	Detail string
}

func (p Problem) String() string { return fmt.Sprintf("%s/%s: %s", p.Bucket, p.Key, p.Detail) }

// Check reads the whole store in one snapshot and reports every index entry
// that has no record behind it, every record whose index entry is missing
// or wrong, members and secrets that belong to nobody, and records that do
// not decode. An empty result means the store is whole. An error means the
// store could not be read at all.
func (d *Directory) Check(ctx context.Context) ([]Problem, error) {
	var c checker
	err := d.store.View(ctx, func(tx Tx) error {
		c = checker{tx: tx, want: map[string]map[string]string{}}
		return c.run()
	})
	return c.problems, err
}

// checker derives from the records the index entries they should have
// (want: index -> key -> value) and compares them with the indexes as
// stored, both ways.
type checker struct {
	tx       Tx
	want     map[string]map[string]string
	users    map[string]User
	groups   map[string]Group
	owners   map[string]bool // IDs of users and bind accounts, who may hold secrets
	problems []Problem
}

func (c *checker) run() error {
	for _, step := range []func() error{c.readUsers, c.readGroups, c.readAccounts, c.readApps, c.readAudit, c.compareIndexes, c.checkGroupNames, c.checkNumbers, c.checkOwned} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (c *checker) report(bucket, key, format string, args ...any) {
	c.problems = append(c.problems, Problem{bucket, key, fmt.Sprintf(format, args...)})
}

func (c *checker) expect(index, key, value string) {
	if c.want[index] == nil {
		c.want[index] = map[string]string{}
	}
	if held, ok := c.want[index][key]; ok && held != value {
		c.report(index, key, "claimed by both %s and %s", held, value)
		return
	}
	c.want[index][key] = value
}

// records decodes every record of bucket, reporting those that do not
// decode or are stored under another key than their ID.
func records[T any](c *checker, bucket string, id func(T) string) (map[string]T, error) {
	out := map[string]T{}
	err := c.tx.Scan(bucket, "", "", func(k string, raw []byte) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			c.report(bucket, k, "does not decode: %v", err)
			return nil
		}
		if id != nil && id(v) != k {
			c.report(bucket, k, "record holds ID %q", id(v))
		}
		out[k] = v
		return nil
	})
	return out, err
}

func (c *checker) readUsers() error {
	users, err := records(c, bUsers, func(u User) string { return u.ID })
	c.users = users
	c.owners = map[string]bool{}
	for id, u := range users {
		c.owners[id] = true
		c.expect(ixUID, fold(u.UID), id)
		if u.Mail != "" {
			c.expect(ixMail, fold(u.Mail), id)
		}
		c.expect(ixUIDNumber, numKey(u.UIDNumber), id)
		c.expect(ixUserGID, numKey(u.GIDNumber)+"/"+id, "")
		c.expect(ixUserCN, userCNKey(u), "")
		c.expect(ixName, id, u.UID)
	}
	return err
}

func (c *checker) readGroups() error {
	groups, err := records(c, bGroups, func(g Group) string { return g.ID })
	c.groups = groups
	for id, g := range groups {
		c.expect(ixGIDNumber, numKey(g.GIDNumber), id)
		c.expect(ixName, id, g.CN)
		for _, m := range g.Users {
			if _, ok := c.users[m]; !ok {
				c.report(bGroups, id, "member user %s does not exist", m)
			}
			c.expect(ixMemberOf, m+"/"+id, "")
		}
		for _, m := range g.Groups {
			if _, ok := groups[m]; !ok {
				c.report(bGroups, id, "member group %s does not exist", m)
			}
			c.expect(ixMemberOf, m+"/"+id, "")
		}
	}
	return err
}

func (c *checker) readAccounts() error {
	accounts, err := records(c, bAccounts, func(a BindAccount) string { return a.ID })
	for id, a := range accounts {
		c.owners[id] = true
		c.expect(ixAccount, fold(a.Name), id)
	}
	return err
}

func (c *checker) readApps() error {
	apps, err := records(c, bApps, func(a App) string { return a.ID })
	for id, a := range apps {
		c.expect(ixAppName, fold(a.Name), id)
		c.expect(ixAppEntity, a.EntityID, id)
	}
	return err
}

func (c *checker) readAudit() error {
	events, err := records[AuditEvent](c, bAudit, nil)
	for k, e := range events {
		if e.Subject != "" {
			c.expect(ixAuditBy, auditSubjectPrefix(e.Subject)+k, "")
		}
	}
	return err
}

// compareIndexes checks every derived entry against the stored indexes,
// both ways. ix.cn is left to checkGroupNames.
func (c *checker) compareIndexes() error {
	indexes := []string{ixUID, ixMail, ixUIDNumber, ixUserGID, ixUserCN, ixGIDNumber, ixAccount, ixMemberOf, ixName, ixAppName, ixAppEntity, ixAuditBy}
	for _, index := range indexes {
		want := c.want[index]
		seen := map[string]bool{}
		err := c.tx.Scan(index, "", "", func(k string, v []byte) error {
			seen[k] = true
			expected, ok := want[k]
			switch {
			case !ok:
				c.report(index, k, "no record has this entry (points to %q)", v)
			case string(v) != expected:
				c.report(index, k, "points to %q, want %q", v, expected)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range sortedKeys(want) {
			if !seen[k] {
				c.report(index, k, "entry missing (want %q)", want[k])
			}
		}
	}
	return nil
}

// checkGroupNames checks ix.cn. Each group has one entry, under cnKey of
// its name, or (for the younger of two groups whose names differ only in
// spacing, as schema 3 left them) under its name lower-cased.
func (c *checker) checkGroupNames() error {
	found := map[string]int{}
	err := c.tx.Scan(ixCN, "", "", func(k string, v []byte) error {
		g, ok := c.groups[string(v)]
		switch {
		case !ok:
			c.report(ixCN, k, "points to missing group %q", v)
		case k != cnKey(g.CN) && k != fold(g.CN):
			c.report(ixCN, k, "points to group %s named %q", g.ID, g.CN)
		default:
			found[g.ID]++
		}
		return nil
	})
	for _, id := range sortedKeys(c.groups) {
		if found[id] != 1 {
			c.report(ixCN, cnKey(c.groups[id].CN), "group %s has %d entries, want 1", id, found[id])
		}
	}
	return err
}

// checkNumbers checks the rules of numbers.go: no group holds a user's
// uidNumber (their private group's number), and a primary group other than
// the private one is a group the user is in.
func (c *checker) checkNumbers() error {
	byGID := map[int]Group{}
	for _, g := range c.groups {
		byGID[g.GIDNumber] = g
	}
	for _, id := range sortedKeys(c.users) {
		u := c.users[id]
		if g, ok := byGID[u.UIDNumber]; ok {
			c.report(bGroups, g.ID, "gidNumber %d is the uidNumber of user %s", g.GIDNumber, u.UID)
		}
		if u.GIDNumber == u.UIDNumber {
			continue
		}
		if g, ok := byGID[u.GIDNumber]; !ok {
			c.report(bUsers, id, "primary gidNumber %d is no group's", u.GIDNumber)
		} else if !slices.Contains(g.Users, id) {
			c.report(bUsers, id, "not a member of primary group %s", g.CN)
		}
	}
	return nil
}

// checkOwned reports secrets and second factors whose user or bind account
// is gone.
func (c *checker) checkOwned() error {
	for _, bucket := range []string{bCreds, bMFA, bFactors} {
		err := c.tx.Scan(bucket, "", "", func(k string, _ []byte) error {
			owner, _, _ := strings.Cut(k, "/")
			if !c.owners[owner] {
				c.report(bucket, k, "belongs to no user or bind account")
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
