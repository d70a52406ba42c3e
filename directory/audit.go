package directory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/atrium-dir/atrium/internal/logsafe"
)

// AuditEvent is one line of the audit log kept in the store.
type AuditEvent struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`              // login, assertion, mfa, account (self-service changes), admin
	Subject string    `json:"subject"`           // uid or bind account name
	Remote  string    `json:"remote,omitempty"`  // client address
	Service string    `json:"service,omitempty"` // ldap, web, saml:<app>, cli
	Result  string    `json:"result"`            // ok, or why not
	Detail  string    `json:"detail,omitempty"`
	// Actor is the admin who made an admin change from the console, when
	// it is not the subject.
	Actor string `json:"actor,omitempty"`
}

// Audit results of a login.
const (
	ResultOK          = "ok"
	ResultBadPassword = "bad-password"
	ResultNoSuchUser  = "unknown-user"
	ResultDisabled    = "disabled"
	ResultThrottled   = "throttled"
	ResultNoPassword  = "empty-password"
	// ResultAppPasswordOnly is the account password used for an LDAP bind
	// where policy allows only app passwords.
	ResultAppPasswordOnly = "app-password-only"
)

// Audit records an event. Events are written in batches in the background
// (a login must not wait for a disk sync); Close and Backup flush them. The
// subject and the address may be whatever a client sent (a bind DN, say),
// so they are clipped: a 60 KB name costs the log a line, not 60 KB.
func (d *Directory) Audit(e AuditEvent) {
	if e.Time.IsZero() {
		e.Time = d.now()
	}
	e.Time = e.Time.UTC()
	e.Subject, e.Remote, e.Actor = logsafe.Clip(e.Subject), logsafe.Clip(e.Remote), logsafe.Clip(e.Actor)
	if d.onAudit != nil {
		d.onAudit(e)
	}
	d.audit.add(e)
}

// AuditQuery selects audit events; zero fields match everything.
type AuditQuery struct {
	Subject string
	Kind    string
	Service string // a front end: ldap, web, cli, or a prefix ending in ":" (saml:)
	// App keeps the events of the app of this name, SAML (saml:<name>) or
	// OIDC (oidc:<name>), even one deleted since.
	App    string
	Result string
	Since  time.Time
	Until  time.Time // events before this time only
	Limit  int       // the newest Limit events
	// Skip leaves out the newest Skip matching events first: a page further
	// back.
	Skip int
}

func (q AuditQuery) matches(e AuditEvent) bool {
	switch {
	case q.Subject != "" && fold(q.Subject) != fold(e.Subject),
		q.Kind != "" && q.Kind != e.Kind,
		q.Result != "" && q.Result != e.Result,
		q.App != "" && e.Service != "saml:"+q.App && e.Service != "oidc:"+q.App,
		!q.Until.IsZero() && !e.Time.Before(q.Until):
		return false
	case q.Service == "", q.Service == e.Service:
		return true
	}
	return strings.HasSuffix(q.Service, ":") && strings.HasPrefix(e.Service, q.Service)
}

// AuditEvents returns matching events, oldest first.
func (d *Directory) AuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error) {
	if err := d.flushAudit(ctx); err != nil {
		return nil, err
	}
	var out []AuditEvent
	after := ""
	if !q.Since.IsZero() {
		after = auditKey(q.Since.Add(-time.Nanosecond), 1<<32-1)
	}
	keep := func(raw []byte) error {
		var e AuditEvent
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		if q.matches(e) {
			out = append(out, e)
		}
		return nil
	}
	err := d.store.View(ctx, func(tx Tx) error {
		if q.Subject == "" {
			return tx.Scan(bAudit, "", after, func(_ string, raw []byte) error { return keep(raw) })
		}
		// One subject's events, from its index: a user's page does not
		// read everyone's logins.
		prefix := auditSubjectPrefix(q.Subject)
		if after != "" {
			after = prefix + after
		}
		return tx.Scan(ixAuditBy, prefix, after, func(k string, _ []byte) error {
			raw, err := tx.Get(bAudit, strings.TrimPrefix(k, prefix))
			if errors.Is(err, ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			return keep(raw)
		})
	})
	out = out[:max(0, len(out)-q.Skip)]
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[len(out)-q.Limit:]
	}
	return out, err
}

func auditKey(t time.Time, seq uint32) string {
	return fmt.Sprintf("%016x-%08x", t.UnixNano(), seq)
}

// auditSubjectPrefix starts the ixAuditBy keys of a subject's events. The
// subject is whatever name was typed, so it is length-prefixed: no
// subject's prefix is the start of another's.
func auditSubjectPrefix(subject string) string {
	subject = fold(subject)
	return fmt.Sprintf("%04x:%s:", len(subject), subject)
}

// putAuditEvent stores e under key, with its subject index entry.
func putAuditEvent(tx Tx, key string, e AuditEvent) error {
	if err := putJSON(tx, bAudit, key, e); err != nil {
		return err
	}
	if e.Subject == "" {
		return nil
	}
	return tx.Put(ixAuditBy, auditSubjectPrefix(e.Subject)+key, nil)
}

// deleteAuditEvent removes the event under key and its index entry.
func deleteAuditEvent(tx Tx, key string, raw []byte) error {
	var e AuditEvent
	if err := json.Unmarshal(raw, &e); err == nil && e.Subject != "" {
		if err := tx.Delete(ixAuditBy, auditSubjectPrefix(e.Subject)+key); err != nil {
			return err
		}
	}
	return tx.Delete(bAudit, key)
}

// indexAuditSubjects builds ixAuditBy for the events already stored.
func indexAuditSubjects(tx Tx) error {
	return buildIndex(tx, bAudit, ixAuditBy, func(k string, e AuditEvent) string {
		if e.Subject == "" {
			return ""
		}
		return auditSubjectPrefix(e.Subject) + k
	})
}

// auditWriter batches events into store transactions.
type auditWriter struct {
	store     Store
	log       *slog.Logger
	now       func() time.Time
	retention time.Duration

	events chan AuditEvent
	flushc chan chan error
	done   chan struct{}
	once   sync.Once
	seq    uint32
	// perTx bounds the events one Update writes or prunes (each is up
	// to two keys); 0: no bound.
	perTx int
}

func newAuditWriter(store Store, log *slog.Logger, now func() time.Time, retention time.Duration, writeLimit int) *auditWriter {
	w := &auditWriter{
		store: store, log: log, now: now, retention: retention, perTx: writeLimit / 2,
		events: make(chan AuditEvent, 4096),
		flushc: make(chan chan error),
		done:   make(chan struct{}),
	}
	go w.run()
	return w
}

func (w *auditWriter) add(e AuditEvent) {
	select {
	case w.events <- e:
	case <-w.done:
		w.log.Warn("audit event after close", "kind", e.Kind, "subject", e.Subject, "result", e.Result)
	}
}

func (w *auditWriter) flush() error {
	reply := make(chan error, 1)
	select {
	case w.flushc <- reply:
		return <-reply
	case <-w.done:
		return nil
	}
}

func (w *auditWriter) close() error {
	var err error
	w.once.Do(func() {
		err = w.flush()
		close(w.done)
	})
	return err
}

func (w *auditWriter) run() {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	var batch []AuditEvent
	write := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := inChunks(batch, w.perTx, func(chunk []AuditEvent) error {
			return w.store.Update(context.Background(), func(tx Tx) error {
				for _, e := range chunk {
					w.seq++
					if err := putAuditEvent(tx, auditKey(e.Time, w.seq), e); err != nil {
						return err
					}
				}
				return nil
			})
		})
		if err != nil {
			w.log.Error("audit write failed", "events", len(batch), "err", err)
		}
		batch = batch[:0]
		return err
	}
	w.pruneOld()
	for {
		select {
		case e := <-w.events:
			batch = append(batch, e)
			if len(batch) >= 512 {
				_ = write()
			}
		case <-tick.C:
			_ = write()
		case <-prune.C:
			w.pruneOld()
		case reply := <-w.flushc:
			for len(w.events) > 0 {
				batch = append(batch, <-w.events)
			}
			reply <- write()
		case <-w.done:
			return
		}
	}
}

func (w *auditWriter) pruneOld() {
	cutoff := auditKey(w.now().Add(-w.retention), 0)
	for {
		pruned := 0
		err := w.store.Update(context.Background(), func(tx Tx) error {
			old := map[string][]byte{}
			err := tx.Scan(bAudit, "", "", func(k string, raw []byte) error {
				if k >= cutoff || (w.perTx > 0 && len(old) == w.perTx) {
					return ErrStop
				}
				old[k] = bytes.Clone(raw) // raw lives only until the scan moves on
				return nil
			})
			for k, raw := range old {
				if err := deleteAuditEvent(tx, k, raw); err != nil {
					return err
				}
			}
			pruned = len(old)
			return err
		})
		if err != nil {
			w.log.Error("audit prune failed", "err", err)
			return
		}
		if w.perTx == 0 || pruned < w.perTx {
			return
		}
	}
}
