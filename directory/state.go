package directory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Short-lived state of the web front ends (sign-in flows, sessions, used
// SAML request IDs) lives in the store too, so that it survives a restart
// and every front end sees the same answer. Each record carries its expiry;
// an expired record reads as ErrNotFound, and SweepState removes it.

const bState = "state"

type stateRecord struct {
	Expires time.Time       `json:"exp"`
	Value   json.RawMessage `json:"v"`
}

func stateKey(kind, key string) string { return kind + "/" + key }

// decodeStateRecord reads a stored record. The one putState writes,
// {"exp":"<RFC 3339>","v":<value>}, is split without a pass of
// encoding/json over the value, which its reader makes anyway; anything
// else goes to encoding/json. The value shares raw's bytes.
func decodeStateRecord(raw []byte) (stateRecord, error) {
	const head, mid = `{"exp":"`, `","v":`
	if rest, ok := bytes.CutPrefix(raw, []byte(head)); ok && bytes.HasSuffix(rest, []byte("}")) {
		if i := bytes.IndexByte(rest, '"'); i > 0 && bytes.HasPrefix(rest[i:], []byte(mid)) {
			if exp, err := time.Parse(time.RFC3339Nano, string(rest[:i])); err == nil {
				return stateRecord{Expires: exp, Value: rest[i+len(mid) : len(rest)-1]}, nil
			}
		}
	}
	var rec stateRecord
	err := json.Unmarshal(raw, &rec)
	return rec, err
}

// PutState stores v (encoded as JSON) under kind/key until expires.
func (d *Directory) PutState(ctx context.Context, kind, key string, v any, expires time.Time) error {
	return d.store.Update(ctx, func(tx Tx) error { return putState(tx, kind, key, v, expires) })
}

// putState is PutState inside a transaction.
func putState(tx Tx, kind, key string, v any, expires time.Time) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s state: %w", kind, err)
	}
	return putJSON(tx, bState, stateKey(kind, key), stateRecord{Expires: expires.UTC(), Value: raw})
}

// State decodes the live record kind/key into v, or returns ErrNotFound.
// On a shared store it first makes sure the record another node may have
// written (a session, a login flow) is here.
func (d *Directory) State(ctx context.Context, kind, key string, v any) error {
	if err := d.fresh(ctx); err != nil {
		return err
	}
	return d.store.View(ctx, func(tx Tx) error { return d.readState(tx, kind, key, v) })
}

func (d *Directory) readState(tx Tx, kind, key string, v any) error {
	return readState(tx, d.now(), kind, key, v)
}

// State is Directory.State inside the Reader's snapshot.
func (r Reader) State(kind, key string, v any) error {
	if r.now == nil {
		return errors.New("directory: state read through a Reader without a clock")
	}
	return readState(r.tx, r.now(), kind, key, v)
}

func readState(tx Tx, now time.Time, kind, key string, v any) error {
	raw, err := tx.Get(bState, stateKey(kind, key))
	if err != nil {
		return err
	}
	rec, err := decodeStateRecord(raw)
	if err != nil {
		return fmt.Errorf("decode %s state: %w", kind, err)
	}
	if !now.Before(rec.Expires) {
		return ErrNotFound
	}
	return json.Unmarshal(rec.Value, v)
}

// UpdateState runs fn on the live record kind/key inside one transaction and
// stores what fn leaves in v, with the expiry fn returns. fn returning an
// error leaves the record as it was; returning a zero expiry deletes it.
func UpdateState[T any](ctx context.Context, d *Directory, kind, key string, fn func(*T) (time.Time, error)) (T, error) {
	var v T
	err := d.store.Update(ctx, func(tx Tx) error {
		v = *new(T)
		if err := d.readState(tx, kind, key, &v); err != nil {
			return err
		}
		expires, err := fn(&v)
		if err != nil {
			return err
		}
		if expires.IsZero() {
			return tx.Delete(bState, stateKey(kind, key))
		}
		return putState(tx, kind, key, v, expires)
	})
	return v, err
}

// TakeState reads the live record kind/key into v and deletes it in the same
// transaction: of two concurrent takers only one succeeds.
func (d *Directory) TakeState(ctx context.Context, kind, key string, v any) error {
	return d.store.Update(ctx, func(tx Tx) error {
		if err := d.readState(tx, kind, key, v); err != nil {
			return err
		}
		return tx.Delete(bState, stateKey(kind, key))
	})
}

// DeleteState removes kind/key; a missing record is not an error.
func (d *Directory) DeleteState(ctx context.Context, kind, key string) error {
	return d.store.Update(ctx, func(tx Tx) error { return tx.Delete(bState, stateKey(kind, key)) })
}

// ErrUsed is returned by ClaimOnce for a key claimed before.
var ErrUsed = errors.New("already used")

// ClaimOnce records kind/key as used until expires. It returns ErrUsed if
// the key was claimed before and has not expired: the replay check for
// single-use values such as SAML request IDs.
func (d *Directory) ClaimOnce(ctx context.Context, kind, key string, expires time.Time) error {
	return d.store.Update(ctx, func(tx Tx) error {
		var seen struct{}
		err := d.readState(tx, kind, key, &seen)
		if err == nil {
			return ErrUsed
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		return putJSON(tx, bState, stateKey(kind, key), stateRecord{Expires: expires.UTC(), Value: json.RawMessage("{}")})
	})
}

// SweepState deletes expired records of every kind. The server runs it
// periodically.
func (d *Directory) SweepState(ctx context.Context) (int, error) {
	now := d.now()
	var dead []string
	err := d.store.View(ctx, func(tx Tx) error {
		return tx.Scan(bState, "", "", func(k string, raw []byte) error {
			var rec struct {
				Expires time.Time `json:"exp"`
			}
			if json.Unmarshal(raw, &rec) != nil || !now.Before(rec.Expires) {
				dead = append(dead, k)
			}
			return nil
		})
	})
	if err != nil || len(dead) == 0 {
		return 0, err
	}
	return len(dead), inChunks(dead, d.writeLimit, func(keys []string) error {
		return d.store.Update(ctx, func(tx Tx) error {
			for _, k := range keys {
				if err := tx.Delete(bState, k); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// States calls fn with the key and value of every live record of kind, in
// key order.
func (d *Directory) States(ctx context.Context, kind string, fn func(key string, value json.RawMessage) error) error {
	return d.View(ctx, func(_ context.Context, r Reader) error { return r.States(kind, fn) })
}

// States is Directory.States inside the Reader's snapshot.
func (r Reader) States(kind string, fn func(key string, value json.RawMessage) error) error {
	if r.now == nil {
		return errors.New("directory: state read through a Reader without a clock")
	}
	now := r.now()
	prefix := stateKey(kind, "")
	return r.tx.Scan(bState, prefix, "", func(k string, raw []byte) error {
		rec, err := decodeStateRecord(raw)
		if err != nil {
			return fmt.Errorf("decode %s state: %w", kind, err)
		}
		if !now.Before(rec.Expires) {
			return nil
		}
		return fn(k[len(prefix):], slices.Clone(rec.Value))
	})
}
