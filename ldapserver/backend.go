package ldapserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/internal/logsafe"
	"github.com/atrium-dir/atrium/ldif"
)

// OIDs of what Atrium supports, published in the root DSE.
const (
	oidPaging         = ldap.ControlTypePaging // 1.2.840.113556.1.4.319
	oidManageDsaIT    = "2.16.840.1.113730.3.4.2"
	oidStartTLS       = "1.3.6.1.4.1.1466.20037"
	oidPasswordModify = "1.3.6.1.4.1.4203.1.11.1"
	oidWhoAmI         = "1.3.6.1.4.1.4203.1.11.3"
)

// supportedControls are the controls the backend honours; a critical
// control outside this set is refused with unavailableCriticalExtension.
// There are no referrals, so ManageDsaIT is honoured by doing nothing.
var supportedControls = []string{oidPaging, oidManageDsaIT}

// BackendConfig holds a Backend's dependencies.
type BackendConfig struct {
	Directory *directory.Directory
	Layout    ldif.Layout
	Samba     *SambaDomain // nil when Samba support is off
	Logger    *slog.Logger
	Now       func() time.Time
	Version   string
}

// Backend answers LDAP operations from the directory: the tree, search,
// access rules and changes.
type Backend struct {
	dir    *directory.Directory
	tree   tree
	access accessRules
	log    *slog.Logger
	now    func() time.Time

	containers []*entry // the base first, then its fixed children
	rootDSE    *entry
	subschema  *entry

	nBase, nPeople, nGroups, nServices string // normalised DNs
	pages                              *pager
	selections                         selectionCache
	// kindAttrs are the attributes each kind of record can have, so that
	// an assertion on any other attribute rules the kind out of a search.
	kindAttrs map[entryKind]map[string]bool
}

// NewBackend builds the fixed part of the tree.
func NewBackend(cfg BackendConfig) *Backend {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	b := &Backend{
		dir:    cfg.Directory,
		tree:   tree{layout: cfg.Layout, samba: cfg.Samba},
		access: accessRules{cfg.Directory},
		log:    cfg.Logger,
		now:    cfg.Now,
		pages:  newPager(cfg.Now),
	}
	norm := func(dn string) string { n, _ := normaliseDN(dn); return n }
	b.nBase, b.nPeople, b.nGroups, b.nServices = norm(cfg.Layout.Base), norm(cfg.Layout.PeopleDN()), norm(cfg.Layout.GroupsDN()), norm(cfg.Layout.ServicesDN())
	b.containers = b.tree.containers(cfg.Now())
	for _, c := range b.containers {
		c.ndn = norm(c.dn)
	}
	b.subschema = subschemaEntry()
	b.rootDSE = b.rootDSEEntry(cfg.Version)
	b.kindAttrs = b.tree.kindAttributes()
	return b
}

func (b *Backend) rootDSEEntry(version string) *entry {
	e := &entry{kind: kindRootDSE}
	e.add("objectClass", "top")
	e.add("namingContexts", b.tree.layout.Base)
	e.add("defaultNamingContext", b.tree.layout.Base)
	e.add("subschemaSubentry", subschemaDN)
	e.add("supportedLDAPVersion", "3")
	e.add("supportedControl", supportedControls...)
	e.add("supportedExtension", oidStartTLS, oidPasswordModify, oidWhoAmI)
	e.add("supportedFeatures", "1.3.6.1.4.1.4203.1.5.1") // "+" for all operational attributes
	e.add("vendorName", "Atrium")
	e.add("vendorVersion", "Atrium "+version)
	return e
}

// opResult is the outcome of one operation.
type opResult struct {
	code     uint16
	matched  string
	msg      string
	controls []ldap.Control
}

func ok() opResult { return opResult{code: ldap.LDAPResultSuccess} }

func fail(code uint16, msg string) opResult { return opResult{code: code, msg: msg} }

// errorResult maps a directory error to its one LDAP result code; the
// detail is logged and the client gets a plain message.
func (b *Backend) errorResult(op string, err error) opResult {
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return fail(ldap.LDAPResultNoSuchObject, "no such entry")
	case errors.Is(err, directory.ErrAlreadyExists):
		return fail(ldap.LDAPResultEntryAlreadyExists, plainError(err))
	case errors.Is(err, directory.ErrNotPermitted):
		return fail(ldap.LDAPResultInsufficientAccessRights, plainError(err))
	case errors.Is(err, password.ErrMalformed):
		return fail(ldap.LDAPResultInvalidAttributeSyntax, plainError(err))
	case errors.Is(err, directory.ErrInvalid):
		return fail(ldap.LDAPResultConstraintViolation, plainError(err))
	case errors.Is(err, directory.ErrConflict):
		return fail(ldap.LDAPResultUnwillingToPerform, plainError(err))
	case errors.Is(err, directory.ErrUnavailable):
		b.log.Warn("ldap operation refused: store unavailable", "op", op, "err", logsafe.Clip(err.Error()))
		return fail(ldap.LDAPResultUnavailable, "the directory cannot take changes right now; try again later")
	case errors.Is(err, context.DeadlineExceeded):
		return fail(ldap.LDAPResultTimeLimitExceeded, "time limit exceeded")
	case errors.Is(err, context.Canceled):
		return fail(ldap.LDAPResultCanceled, "cancelled")
	case errors.Is(err, errClientGone):
		b.log.Debug("ldap client went away", "op", op, "err", err)
		return fail(ldap.LDAPResultUnavailable, "connection closed") // never delivered
	}
	b.log.Error("ldap operation failed", "op", op, "err", logsafe.Clip(err.Error()))
	return fail(ldap.LDAPResultOther, "internal error")
}

// plainError is the last, human part of a wrapped directory error.
func plainError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Count(msg, ": ") > 1 {
		parts := strings.Split(msg, ": ")
		return strings.Join(parts[len(parts)-2:], ": ")
	}
	return msg
}

// pager keeps the state of paged searches (RFC 2696): the refs of every
// entry that matched when the search started, so later pages neither skip
// nor repeat entries while other clients write.
type pager struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*pagedSearch
}

type pagedSearch struct {
	owner   any // the connection
	query   string
	refs    []ref
	total   int
	expires time.Time
}

const (
	pageTTL      = 10 * time.Minute
	maxPageState = 1000
)

func newPager(now func() time.Time) *pager { return &pager{now: now, m: map[string]*pagedSearch{}} }

func (p *pager) put(s *pagedSearch) string {
	var raw [16]byte
	rand.Read(raw[:])
	cookie := string(raw[:])
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if len(p.m) >= maxPageState {
		for k, v := range p.m {
			if now.After(v.expires) || len(p.m) >= maxPageState {
				delete(p.m, k)
			}
		}
	}
	s.expires = now.Add(pageTTL)
	p.m[cookie] = s
	return cookie
}

// take removes and returns the state for cookie, if owner and query match.
func (p *pager) take(cookie string, owner any, query string) (*pagedSearch, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.m[cookie]
	if !ok || s.owner != owner || s.query != query || p.now().After(s.expires) {
		return nil, false
	}
	delete(p.m, cookie)
	return s, true
}

// dropOwner forgets every paged search of a closed connection.
func (p *pager) dropOwner(owner any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.m {
		if v.owner == owner {
			delete(p.m, k)
		}
	}
}

// describe renders a paged search's parameters, which must not change
// between its pages.
func describe(q *searchQuery) string {
	return fmt.Sprintf("%s|%d|%s|%v|%v", strings.ToLower(q.base), q.scope, q.filter.String(), q.attrs, q.typesOnly)
}
