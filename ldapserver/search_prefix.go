package ldapserver

import (
	"cmp"
	"slices"
	"strings"

	"github.com/atrium-dir/atrium/directory"
)

// substringCandidates is candidates for (attr=initial*…), as a
// search-as-you-type sends: the records whose value starts with initial,
// from the prefix indexes the console's user search reads (uid, mail and
// common name of users, names of groups; a private group is named after
// its user's uid). The indexes fold case and spaces as caseIgnoreMatch
// does, so they hold every record the filter can match; the filter is
// still tested on each. Without an initial, or on another attribute, only
// a scan will do.
func (v *view) substringCandidates(kind entryKind, f *Filter) ([]string, bool) {
	at := theSchema.lookup(f.Attr)
	if at == nil {
		return nil, false // Undefined: nothing matches
	}
	name := at.names[0]
	if attrs, ok := v.b.kindAttrs[kind]; ok && !attrs[name] {
		return nil, false
	}
	prefix := foldSpaces(strings.ToLower(f.Initial))
	if prefix == "" || at.match != matchCaseIgnore {
		return nil, true
	}
	var p directory.UserPrefixes
	switch {
	case kind == kindUser && name == "uid", kind == kindPrivateGroup && name == "cn":
		p.UID = []string{prefix}
	case kind == kindUser && name == "mail":
		p.Mail = []string{prefix}
	case kind == kindUser && name == "cn":
		p.CommonName = []string{prefix}
	case kind == kindGroup && name == "cn":
		var ids []string
		v.exists(v.r.GroupIDsWithPrefix(prefix, func(id string) error { ids = append(ids, id); return nil }))
		return ids, false
	default:
		return nil, true
	}
	ids, err := v.r.UserIDsWithPrefixes(p, "", 0)
	v.exists(err)
	return ids, false
}

// inNameOrder sorts the IDs of records of one kind an index gave into the
// order a scan visits them, by uid or by group name as their index folds
// it (a private group's ID is its user's), so that a search sends the
// same entries, and stops at a size limit at the same one, whether an
// index answers it or not.
func (v *view) inNameOrder(kind entryKind, ids []string) []string {
	if len(ids) < 2 || (kind != kindUser && kind != kindGroup && kind != kindPrivateGroup) {
		return ids
	}
	// Sorted as pairs, without a map lookup per comparison.
	type named struct{ key, id string }
	pairs := make([]named, len(ids))
	for i, id := range ids {
		pairs[i].id = id
		if name, err := v.r.Name(id); v.exists(err) {
			pairs[i].key = foldSpaces(strings.ToLower(name))
		}
	}
	slices.SortStableFunc(pairs, func(a, b named) int { return cmp.Compare(a.key, b.key) })
	for i, p := range pairs {
		ids[i] = p.id
	}
	return ids
}
