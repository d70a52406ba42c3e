package ldapserver

import (
	"context"
	"errors"
	"maps"
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
	// batches has a slot for each batch of entries the connection's
	// searches may hold unsent at once; nil for no limit.
	batches chan struct{}
}

// holdBatch waits for one of the connection's batch slots, so that a
// client that reads slowly has at most cap(batches) batches waiting for
// its socket, however many searches it runs. A search waits here with no
// transaction open.
func (q *searchQuery) holdBatch(ctx context.Context) error {
	if q.batches == nil {
		return nil
	}
	select {
	case q.batches <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *searchQuery) releaseBatch() {
	if q.batches != nil {
		<-q.batches
	}
}

// outAttr is one attribute as sent, named as the client asked.
type outAttr struct {
	name   string
	values []string
}

type sendFunc func(dn string, attrs []outAttr) error

var errSizeLimit = errors.New("size limit")

// search runs a search and sends the entries through send. Entries are
// read in batches, each in its own read transaction, and a batch is sent
// only once its transaction has ended: a client that reads slowly, or
// not at all, then holds no transaction, and writes, which need bbolt to
// reuse pages or grow its file, go on beside it.
//
// Each batch is a consistent snapshot, but a search of more than one
// batch is not: an entry changed while the search runs is sent as its
// batch read it, and one added or removed then may be sent or not. Each
// entry is sent at most once, because the walk goes on after the key of
// the last entry it visited (see cursor).
func (b *Backend) search(ctx context.Context, w *who, q *searchQuery, send sendFunc) opResult {
	sel := b.selections.get(q.attrs)
	if q.base == "" {
		if q.scope != scopeBase {
			return fail(ldap.LDAPResultNoSuchObject, "no such entry")
		}
		return b.sendFixed(b.rootDSE, q, sel, send)
	}
	baseN, valid := normaliseDN(q.base)
	if !valid {
		return fail(ldap.LDAPResultInvalidDNSyntax, "invalid DN syntax")
	}
	if baseN == "cn=subschema" {
		if q.scope == scopeOne {
			return ok()
		}
		return b.sendFixed(b.subschema, q, sel, send)
	}
	if baseN != b.nBase && !strings.HasSuffix(baseN, ","+b.nBase) {
		return fail(ldap.LDAPResultNoSuchObject, "no such entry")
	}
	if !b.access.canSearch(w) {
		return fail(ldap.LDAPResultInsufficientAccessRights, "bind first: anonymous clients may read only the root DSE and the schema")
	}
	if q.paging != nil {
		return b.pagedSearch(ctx, w, q, sel, baseN, send)
	}
	st := &walk{}
	for {
		if err := q.holdBatch(ctx); err != nil {
			return b.errorResult("search", err)
		}
		err := b.searchBatch(ctx, w, q, sel, baseN, st)
		if err == nil {
			err = st.out.send(send)
		}
		q.releaseBatch()
		if err != nil {
			return b.errorResult("search", err)
		}
		if !st.more {
			return st.res
		}
		st.out = batch{entries: st.out.entries[:0]}
	}
}

// walk is the progress of a search from one batch to the next.
type walk struct {
	at   cursor
	n    int // entries found, for the size limit
	out  batch
	more bool // the batch is full: the walk goes on after it is sent
	res  opResult
}

// searchBatch reads the next batch of a search in one transaction.
func (b *Backend) searchBatch(ctx context.Context, w *who, q *searchQuery, sel selection, baseN string, st *walk) error {
	return b.dir.View(ctx, func(ctx context.Context, r directory.Reader) error {
		v, ev := b.newView(r, w)
		v.only = sel.needs(q.filter)
		base, found := b.resolveBase(v, baseN, &st.res)
		if !found {
			return v.err
		}
		err := v.walk(base, baseN, q.scope, q.filter, &st.at, func(e *entry) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !b.access.canRead(w, e, b.tree.layout.Base) || ev.eval(q.filter, e) != isTrue {
				return nil
			}
			if q.sizeLimit > 0 && st.n >= q.sizeLimit {
				return errSizeLimit
			}
			st.n++
			if st.out.add(e.dn, sel.pick(e, q.typesOnly)) {
				return errBatchFull
			}
			return nil
		})
		st.more = false
		switch {
		case errors.Is(err, errBatchFull):
			st.more = true
		case errors.Is(err, errSizeLimit):
			st.res = fail(ldap.LDAPResultSizeLimitExceeded, "size limit exceeded")
		case err != nil:
			return err
		default:
			st.res = ok()
		}
		return v.err
	})
}

// newView starts one search's look at the directory through r, and the
// evaluator of its filters.
func (b *Backend) newView(r directory.Reader, w *who) (*view, *evaluator) {
	v := &view{b: b, r: r, who: w, ntHash: canReadNTHash(w)}
	return v, &evaluator{chain: v.inChain, member: v.hasMember}
}

// resolveBase finds a search's base entry from its normalised DN; when it
// is missing, res says so, unless a read failed (v.err).
func (b *Backend) resolveBase(v *view, baseN string, res *opResult) (ref, bool) {
	base, found := v.resolveNormal(baseN)
	if !found && v.err == nil {
		*res = fail(ldap.LDAPResultNoSuchObject, "no such entry")
		res.matched = b.nearestContainer(baseN)
	}
	return base, found
}

// batchBytes bounds the entries a search holds between reading them and
// sending them: past it the batch is sent, and the walk goes on in a new
// transaction.
const batchBytes = 64 << 10

var errBatchFull = errors.New("batch full")

// batch is the entries of a search read in one transaction, to be sent
// after it ends.
type batch struct {
	entries []batchEntry
	size    int // about what they take encoded
}

type batchEntry struct {
	dn    string
	attrs []outAttr
}

// add keeps one entry and reports whether the batch is full.
func (o *batch) add(dn string, attrs []outAttr) bool {
	o.entries = append(o.entries, batchEntry{dn, attrs})
	o.size += len(dn) + 16
	for _, a := range attrs {
		o.size += len(a.name) + 16
		for _, v := range a.values {
			o.size += len(v) + 4
		}
	}
	return o.size >= batchBytes
}

// send sends the entries in the order they were found.
func (o *batch) send(send sendFunc) error {
	for _, e := range o.entries {
		if err := send(e.dn, e.attrs); err != nil {
			return err
		}
	}
	return nil
}

func (b *Backend) sendFixed(e *entry, q *searchQuery, sel selection, send sendFunc) opResult {
	ev := &evaluator{chain: func(*entry, string, string) tristate { return isFalse }}
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

// pagedSearch answers one page of a paged search. The first page lists
// the candidates of the search, the entries an index or a scan of the uid
// index gives, without reading them (pagedSearch state); each page then
// loads its candidates in batches, as search does, and sends those that
// match the filter then. Each record is so read and decoded once for the
// whole listing.
func (b *Backend) pagedSearch(ctx context.Context, w *who, q *searchQuery, sel selection, baseN string, send sendFunc) opResult {
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
		state = s
	}
	if size == 0 {
		return done(0, "") // an empty page, or the client abandons the search
	}
	for sent := 0; ; {
		if err := q.holdBatch(ctx); err != nil {
			return b.errorResult("search", err)
		}
		var out batch
		var res opResult
		err := b.dir.View(ctx, func(ctx context.Context, r directory.Reader) error {
			v, ev := b.newView(r, w)
			v.only = sel.needs(q.filter)
			if state == nil {
				base, found := b.resolveBase(v, baseN, &res)
				if !found {
					return v.err
				}
				s, err := b.firstPage(v, base, baseN, q)
				if err != nil {
					return err
				}
				state = s
			}
			var err error
			sent, err = b.pageBatch(ctx, v, ev, q, sel, state, sent, size, &out)
			return err
		})
		if err == nil && state != nil {
			err = out.send(send)
		}
		q.releaseBatch()
		switch {
		case err != nil:
			return b.errorResult("search", err)
		case state == nil:
			return res
		}
		if sent >= size || len(state.refs) == 0 {
			break
		}
	}
	next := ""
	if len(state.refs) > 0 {
		next = b.pages.put(state)
	}
	return done(state.total, next)
}

// pageRefs bounds the candidates one transaction of a page visits, so that
// a filter few candidates match does not hold one transaction for the
// whole listing.
const pageRefs = 4096

// pageBatch loads the next candidates of a page in v's transaction and
// adds those that match to out, until the page or the batch is full; it
// returns the count of entries the page has.
func (b *Backend) pageBatch(ctx context.Context, v *view, ev *evaluator, q *searchQuery, sel selection, state *pagedSearch, sent, size int, out *batch) (int, error) {
	for n := 0; sent < size && len(state.refs) > 0 && out.size < batchBytes && n < pageRefs; n++ {
		if err := ctx.Err(); err != nil {
			return sent, err
		}
		x := state.refs[0]
		state.refs = state.refs[1:]
		e, found, err := v.load(x)
		if err != nil {
			return sent, err
		}
		// Not found: deleted since the first page.
		if found && b.access.canRead(v.who, e, b.tree.layout.Base) && ev.eval(q.filter, e) == isTrue {
			out.add(e.dn, sel.pick(e, q.typesOnly))
			sent++
		}
	}
	return sent, v.err
}

// firstPage lists the candidates of a paged search: the entries in its
// scope that an index says can match its filter, every user when none
// does, in the order a search sends them. Their total is the estimate of
// the result's size RFC 2696 asks for.
func (b *Backend) firstPage(v *view, base ref, baseN string, q *searchQuery) (*pagedSearch, error) {
	state := &pagedSearch{owner: q.owner, query: describe(q)}
	keep := func(e *entry) error {
		id := e.id
		if e.kind == kindContainer {
			id = e.dn
		}
		state.refs = append(state.refs, ref{e.kind, id})
		return nil
	}
	if err := v.walkFixed(base, baseN, q.scope, &cursor{}, keep); err != nil {
		return nil, err
	}
	if base.kind == kindContainer && q.scope != scopeBase {
		for _, k := range walkKinds {
			if !inScope(q.scope, baseN, k.parent(v.b)) {
				continue
			}
			if err := v.listKind(k.kind, q.filter, &state.refs, keep); err != nil {
				return nil, err
			}
		}
	}
	state.total = len(state.refs)
	return state, v.err
}

// listKind appends the candidates of one kind of record to refs: users by
// ID alone, from an index or the uid index, the other kinds, far fewer,
// through walkKind.
func (v *view) listKind(kind entryKind, f *Filter, refs *[]ref, keep func(*entry) error) error {
	if kind != kindUser {
		return v.walkKind(kind, f, &cursor{}, keep)
	}
	ids, all := v.candidates(kind, f)
	if !all {
		for _, id := range v.inNameOrder(kind, ids) {
			*refs = append(*refs, ref{kindUser, id})
		}
		return nil
	}
	return v.r.UserIDs(func(id string) error {
		*refs = append(*refs, ref{kindUser, id})
		return nil
	})
}

// selection is the attribute list of a search (RFC 4511 4.5.1.8).
type selection struct {
	allUser, allOp bool
	named          map[string]string // lower-case canonical name -> client's spelling
	keys           attrSet           // the keys of named
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
	s.keys = make(attrSet, len(s.named))
	for key := range s.named {
		s.keys[key] = true
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

// attrSet names attributes by their keys (attrType.key, the lower-cased
// name for one not in the schema); nil stands for every attribute.
type attrSet map[string]bool

func (s attrSet) has(name string) bool {
	return s == nil || s[attrKey(name)]
}

func attrKey(name string) string {
	if at := theSchema.lookup(name); at != nil {
		return at.key
	}
	return strings.ToLower(name)
}

// needs is the set of attributes a search with this selection and filter
// must build: those it returns and those the filter tests. It is nil, for
// all, when the search returns all user or all operational attributes or
// the filter tests every attribute.
func (s selection) needs(f *Filter) attrSet {
	if s.allUser || s.allOp {
		return nil
	}
	if covers(s.keys, f) {
		return s.keys // shared: never written
	}
	set := maps.Clone(s.keys)
	if !filterAttrs(f, set) {
		return nil
	}
	return set
}

// filterAttrs adds the attributes f tests to set; false when it tests
// every attribute, as (:dn:=x) does.
func filterAttrs(f *Filter, set attrSet) bool {
	if f == nil {
		return true
	}
	if f.Attr == "" && f.Kind == FilterExtensible {
		return false
	}
	if f.Attr != "" {
		set[attrKey(f.Attr)] = true
	}
	for i := range f.Children {
		if !filterAttrs(&f.Children[i], set) {
			return false
		}
	}
	return true
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
