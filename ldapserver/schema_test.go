package ldapserver

import "testing"

func TestSchemaParsesEveryDefinition(t *testing.T) {
	cases := []struct {
		name    string
		canon   string
		match   matching
		ordered bool
	}{
		{"CN", "cn", matchCaseIgnore, false},
		{"commonName", "cn", matchCaseIgnore, false},
		{"2.5.4.3", "cn", matchCaseIgnore, false},
		{"member", "member", matchDN, false},
		{"uniquemember", "uniqueMember", matchDN, false},
		{"uidNumber", "uidNumber", matchInteger, true},
		{"memberUid", "memberUid", matchCaseExact, false},
		{"createTimestamp", "createTimestamp", matchTime, true},
		{"entryuuid", "entryUUID", matchCaseIgnore, true},
		{"userid", "uid", matchCaseIgnore, false},
		{"sshPublicKey", "sshPublicKey", matchOctets, false},
		{"rfc822Mailbox", "mail", matchCaseIgnore, false},
	}
	for _, c := range cases {
		at := theSchema.lookup(c.name)
		if at == nil {
			t.Errorf("%s unknown", c.name)
			continue
		}
		if at.names[0] != c.canon || at.match != c.match || at.ordered != c.ordered {
			t.Errorf("%s = %+v", c.name, at)
		}
	}
	if theSchema.lookup("sudoHost") != nil {
		t.Error("an attribute Atrium does not serve is in the schema")
	}
}
