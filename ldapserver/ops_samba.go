package ldapserver

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

// sambaReportAttrs are what a Samba server (passdb ldapsam) writes on a
// user when it locks out the user's SMB logins, and when it clears the
// count after a good password or an expired lock.
var sambaReportAttrs = []string{"sambaBadPasswordCount", "sambaBadPasswordTime", "sambaAcctFlags"}

// isSambaReport reports whether changes touch only sambaReportAttrs.
func isSambaReport(changes []change) bool {
	for _, c := range changes {
		name := canonicalAttr(c.attr)
		if name != sambaReportAttrs[0] && name != sambaReportAttrs[1] && name != sambaReportAttrs[2] {
			return false
		}
	}
	return len(changes) > 0
}

// reportSMBFailures applies a Samba server's write of a user's counters
// and hands the result to the directory. Of sambaAcctFlags only L (locked
// out) may change: the rest is Atrium's to say.
func (b *Backend) reportSMBFailures(ctx context.Context, w *who, e *entry, changes []change) opResult {
	values := map[string]string{}
	for _, name := range sambaReportAttrs {
		if v := e.get(name); len(v) == 1 {
			values[name] = v[0]
		}
	}
	for _, c := range changes {
		if err := applySingle(c, values); err != nil {
			return b.modifyError(err)
		}
	}
	count, err := strconv.Atoi(orDefault(values["sambaBadPasswordCount"], "0"))
	if err != nil || count < 0 {
		return fail(ldap.LDAPResultInvalidAttributeSyntax, "sambaBadPasswordCount must be a non-negative number")
	}
	last, err := strconv.ParseInt(orDefault(values["sambaBadPasswordTime"], "0"), 10, 64)
	if err != nil || last < 0 {
		return fail(ldap.LDAPResultInvalidAttributeSyntax, "sambaBadPasswordTime must be seconds since 1970")
	}
	served := flagLetters(e.get("sambaAcctFlags")[0])
	flags := flagLetters(values["sambaAcctFlags"])
	if strings.ReplaceAll(flags, "L", "") != strings.ReplaceAll(served, "L", "") {
		return fail(ldap.LDAPResultInsufficientAccessRights, "of sambaAcctFlags, only L (locked out) may be changed")
	}
	f := directory.SMBFailures{Count: count, Locked: strings.Contains(flags, "L")}
	if last > 0 {
		f.Last = time.Unix(last, 0)
	}
	if _, err := b.dir.ReportSMBFailures(ctx, e.get("uid")[0], f, w.account.Name, w.remote); err != nil {
		return b.errorResult("modify", err)
	}
	return ok()
}

// applySingle applies c to the single-valued attribute it names in values,
// as LDAP does: a delete names the value it removes, an add needs the
// attribute absent.
func applySingle(c change, values map[string]string) error {
	name := canonicalAttr(c.attr)
	cur, has := values[name]
	switch {
	case c.op == ldap.DeleteAttribute && len(c.values) == 0:
		delete(values, name)
	case len(c.values) > 1 || c.op == ldap.IncrementAttribute:
		return refuse(ldap.LDAPResultConstraintViolation, c.attr+" takes exactly one value")
	case c.op == ldap.DeleteAttribute:
		if !has || !strings.EqualFold(cur, c.values[0]) {
			return refuse(ldap.LDAPResultNoSuchAttribute, c.attr+" does not have the value "+c.values[0])
		}
		delete(values, name)
	case c.op == ldap.AddAttribute && has:
		return refuse(ldap.LDAPResultAttributeOrValueExists, c.attr+" already has a value")
	case len(c.values) == 0: // a replace with no values
		delete(values, name)
	default:
		values[name] = c.values[0]
	}
	return nil
}

// flagLetters returns the letters of a "[UL         ]" value, sorted, so
// that flag sets compare whatever order a client spells them in.
func flagLetters(v string) string {
	letters := []byte(strings.ReplaceAll(strings.Trim(v, "[]"), " ", ""))
	slices.Sort(letters)
	return string(letters)
}

// orDefault returns v, or def when v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
