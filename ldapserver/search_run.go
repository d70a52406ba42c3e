package ldapserver

import (
	"context"
	"errors"
	"slices"
	"strings"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

// searchQuery is a decoded search request.
type searchQuery struct {
	base      string
	scope     int
	sizeLimit int
	timeLimit int // seconds
	typesOnly bool
	filter    *Filter
	attrs     []string
	paging    *ldap.ControlPaging // nil when the client did not ask for pages
	owner     any                 // the connection, which owns paging state
}

// outAttr is one attribute as sent, named as the client asked.
type outAttr struct {
	name   string
	values []string
}

type sendFunc func(dn string, attrs []outAttr) error

var errSizeLimit = errors.New("size limit")

// search runs a search and streams the entries through send.
func (b *Backend) search(ctx context.Context, w *who, q *searchQuery, send sendFunc) opResult {
	sel := newSelection(q.attrs)
	ev := &evaluator{chain: func(*entry, string, string) tristate { return isFalse }}
	if q.base == "" {
		if q.scope != scopeBase {
			return fail(ldap.LDAPResultNoSuchObject, "no such entry")
		}
		return b.sendFixed(ev, b.rootDSE, q, sel, send)
	}
	baseN, valid := normaliseDN(q.base)
	if !valid {
		return fail(ldap.LDAPResultInvalidDNSyntax, "invalid DN syntax")
	}
	if baseN == "cn=subschema" {
		if q.scope == scopeOne {
			return ok()
		}
		return b.sendFixed(ev, b.subschema, q, sel, send)
	}
	if baseN != b.nBase && !strings.HasSuffix(baseN, ","+b.nBase) {
		return fail(ldap.LDAPResultNoSuchObject, "no such entry")
	}
	if !b.access.canSearch(w) {
		return fail(ldap.LDAPResultInsufficientAccessRights, "bind first: anonymous clients may read only the root DSE and the schema")
	}
	var res opResult
	err := b.dir.View(ctx, func(ctx context.Context, r directory.Reader) error {
		v := &view{b: b, r: r, who: w, ntHash: canReadNTHash(w), names: map[string]string{}, chain: map[string][]string{}}
		ev.chain, ev.member = v.inChain, v.hasMember
		base, found := v.resolve(q.base)
		if !found && v.err != nil {
			return v.err
		} else if !found {
			res = fail(ldap.LDAPResultNoSuchObject, "no such entry")
			res.matched = b.nearestContainer(baseN)
			return nil
		}
		if q.paging != nil {
			res = b.paged(ctx, v, ev, sel, base, baseN, q, send)
			return v.err
		}
		n := 0
		err := v.walk(base, baseN, q.scope, q.filter, func(e *entry) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !b.access.canRead(w, e, b.tree.layout.Base) || ev.eval(q.filter, e) != isTrue {
				return nil
			}
			if q.sizeLimit > 0 && n >= q.sizeLimit {
				return errSizeLimit
			}
			n++
			return send(e.dn, sel.pick(e, q.typesOnly))
		})
		switch {
		case errors.Is(err, errSizeLimit):
			res = fail(ldap.LDAPResultSizeLimitExceeded, "size limit exceeded")
		case err != nil:
			return err
		default:
			res = ok()
		}
		return v.err
	})
	if err != nil {
		return b.errorResult("search", err)
	}
	return res
}

func (b *Backend) sendFixed(ev *evaluator, e *entry, q *searchQuery, sel selection, send sendFunc) opResult {
	if ev.eval(q.filter, e) == isTrue {
		if err := send(e.dn, sel.pick(e, q.typesOnly)); err != nil {
			return b.errorResult("search", err)
		}
	}
	res := ok()
	if q.paging != nil {
		res.controls = []ldap.Control{&ldap.ControlPaging{}}
	}
	return res
}

// nearestContainer is the matchedDN for a missing entry: its closest
// existing fixed ancestor.
func (b *Backend) nearestContainer(n string) string {
	for {
		_, parent, found := strings.Cut(n, ",")
		if !found {
			return ""
		}
		n = parent
		for _, c := range b.containers {
			if c.ndn == n {
				return c.dn
			}
		}
	}
}

// paged answers one page of a paged search.
func (b *Backend) paged(ctx context.Context, v *view, ev *evaluator, sel selection, base ref, baseN string, q *searchQuery, send sendFunc) opResult {
	size := int(q.paging.PagingSize)
	done := func(total int, cookie string) opResult {
		res := ok()
		res.controls = []ldap.Control{&ldap.ControlPaging{PagingSize: uint32(total), Cookie: []byte(cookie)}}
		return res
	}
	var state *pagedSearch
	if cookie := string(q.paging.Cookie); cookie != "" {
		s, found := b.pages.take(cookie, q.owner, describe(q))
		if !found {
			return fail(ldap.LDAPResultUnwillingToPerform, "paged results cookie is not valid for this search")
		}
		if size == 0 {
			return done(0, "") // the client abandons the search
		}
		state = s
	} else {
		if size == 0 {
			return done(0, "")
		}
		state = &pagedSearch{owner: q.owner, query: describe(q)}
		err := v.walk(base, baseN, q.scope, q.filter, func(e *entry) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if b.access.canRead(v.who, e, b.tree.layout.Base) && ev.eval(q.filter, e) == isTrue {
				id := e.id
				if e.kind == kindContainer {
					id = e.dn
				}
				state.refs = append(state.refs, ref{e.kind, id})
			}
			return nil
		})
		if err != nil {
			return b.errorResult("search", err)
		}
		state.total = len(state.refs)
	}
	for sent := 0; sent < size && len(state.refs) > 0; {
		x := state.refs[0]
		state.refs = state.refs[1:]
		e, found, err := v.load(x)
		if err != nil {
			return b.errorResult("search", err)
		}
		if !found || !b.access.canRead(v.who, e, b.tree.layout.Base) {
			continue // deleted or hidden since the first page
		}
		if err := send(e.dn, sel.pick(e, q.typesOnly)); err != nil {
			return b.errorResult("search", err)
		}
		sent++
	}
	next := ""
	if len(state.refs) > 0 {
		next = b.pages.put(state)
	}
	return done(state.total, next)
}

// selection is the attribute list of a search (RFC 4511 4.5.1.8).
type selection struct {
	allUser, allOp bool
	named          map[string]string // lower-case canonical name -> client's spelling
}

func newSelection(attrs []string) selection {
	s := selection{named: make(map[string]string, len(attrs))}
	if len(attrs) == 0 {
		s.allUser = true
	}
	for _, a := range attrs {
		switch a {
		case "*":
			s.allUser = true
		case "+":
			s.allOp = true
		case "1.1", "":
		default:
			var key string
			if at := theSchema.lookup(a); at != nil {
				key = at.key
			} else {
				key = strings.ToLower(a)
			}
			if _, dup := s.named[key]; !dup {
				s.named[key] = a
			}
		}
	}
	return s
}

// pick returns the attributes of e the selection asks for.
func (s selection) pick(e *entry, typesOnly bool) []outAttr {
	if e.fill != nil && slices.ContainsFunc(e.deferred, func(name string) bool { return s.allUser || s.named[strings.ToLower(name)] != "" }) {
		e.complete()
	}
	out := make([]outAttr, 0, len(e.attrs))
	for _, a := range e.attrs {
		var key string
		if at := theSchema.lookup(a.name); at != nil {
			key = at.key
		} else {
			key = strings.ToLower(a.name)
		}
		name, asked := s.named[key]
		if !asked {
			if !s.wants(e, a.name) {
				continue
			}
			name = a.name
		}
		values := a.values
		if typesOnly {
			values = nil
		}
		out = append(out, outAttr{name: name, values: values})
	}
	return out
}

// wants reports whether an attribute not named in the list is returned:
// user attributes with "*", operational ones with "+". memberOf counts as a
// user attribute, and the root DSE answers "*" with everything, because
// clients ask for both that way.
func (s selection) wants(e *entry, name string) bool {
	if e.kind == kindRootDSE {
		return s.allUser || s.allOp
	}
	at := theSchema.lookup(name)
	if at != nil && at.operational && name != "memberOf" {
		return s.allOp
	}
	return s.allUser
}
