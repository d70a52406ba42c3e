package directory

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Buckets. Records are keyed by ID; each ix* bucket maps a normalised
// attribute value to an ID and is written in the same transaction as the
// record it points to.
const (
	bMeta     = "meta"
	bUsers    = "users"
	bGroups   = "groups"
	bAccounts = "accounts"
	bCreds    = "creds"
	bAudit    = "audit"

	ixUID       = "ix.uid"       // lower(uid) -> user ID
	ixMail      = "ix.mail"      // lower(mail) -> user ID
	ixUIDNumber = "ix.uidnumber" // num -> user ID
	ixUserGID   = "ix.usergid"   // num/userID -> "" (users by primary gidNumber)
	ixUserCN    = "ix.usercn"    // cnKey(CommonName)/userID -> "" (users by common name)
	ixCN        = "ix.cn"        // cnKey(cn) -> group ID
	ixGIDNumber = "ix.gidnumber" // num -> group ID
	ixAccount   = "ix.account"   // lower(name) -> account ID
	ixMemberOf  = "ix.memberof"  // memberID/groupID -> "" (what a user or group is a direct member of)
	ixName      = "ix.name"      // user or group ID -> uid or cn, to name members without decoding records
	ixAuditBy   = "ix.auditby"   // auditSubjectPrefix(subject) + audit key -> "" (a subject's events)
)

// numKey spells a non-negative number so that byte order is numeric order.
func numKey(n int) string { return fmt.Sprintf("%010d", n) }

func parseNumKey(k string) int {
	n, _ := strconv.Atoi(k)
	return n
}

func fold(s string) string { return strings.ToLower(s) }

// cnKey is how a common name is indexed: lower-cased, trimmed, and with
// inner runs of spaces collapsed, so that every value LDAP's caseIgnoreMatch
// holds equal has the same key.
func cnKey(s string) string {
	s = fold(s)
	if !strings.Contains(s, "  ") && strings.TrimSpace(s) == s {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// userCNKey is u's entry in ixUserCN. Common names may hold '/', IDs never do.
func userCNKey(u User) string { return cnKey(u.CommonName()) + "/" + u.ID }

func getJSON(tx Tx, bucket, key string, v any) error {
	raw, err := tx.Get(bucket, key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s/%s: %w", bucket, key, err)
	}
	return nil
}

func putJSON(tx Tx, bucket, key string, v any) error {
	if u, ok := v.(User); ok {
		if raw, ok := appendUserJSON(nil, &u); ok {
			return tx.Put(bucket, key, raw)
		}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%s: %w", bucket, key, err)
	}
	return tx.Put(bucket, key, raw)
}

// lookup follows a unique index to its ID.
func lookup(tx Tx, index, key string) (string, error) {
	id, err := tx.Get(index, key)
	if err != nil {
		return "", err
	}
	return string(id), nil
}

// claim sets a unique index entry, failing if another ID holds it.
func claim(tx Tx, index, key, id, what string) error {
	held, err := lookup(tx, index, key)
	switch {
	case err == nil && held != id:
		return fmt.Errorf("%s %q is taken: %w", what, key, ErrAlreadyExists)
	case err == nil:
		return nil
	case !errors.Is(err, ErrNotFound):
		return err
	}
	return tx.Put(index, key, []byte(id))
}
