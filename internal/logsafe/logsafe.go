package logsafe

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxValue is the longest client-supplied value logged whole, in bytes.
// Real names, DNs and IDs are far shorter; a longer one is an attack or a
// mistake, and its start is enough to recognise it.
const MaxValue = 128

// Clip returns s, or, when it is longer than MaxValue bytes, its first and
// last MaxValue/2 bytes (cut at character boundaries) around "…(N bytes)…",
// N being s's full length. The end is kept because an error's cause is at
// its end, as is a DN's base.
func Clip(s string) string {
	if len(s) <= MaxValue {
		return s
	}
	head, tail := MaxValue/2, len(s)-MaxValue/2
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	for tail < len(s) && !utf8.RuneStart(s[tail]) {
		tail++
	}
	return fmt.Sprintf("%s…(%d bytes)…%s", s[:head], len(s), s[tail:])
}

// Limits of LimitWarnings: per message, Burst records per Interval.
const (
	Burst    = 5
	Interval = time.Minute
	// maxMessages bounds the table of messages seen; messages are
	// constants in the code, so it only fills if one is built from input.
	maxMessages = 1024
)

// LimitWarnings wraps next so that each warning or error message (records
// at slog.LevelWarn and above, told apart by their message) is written at
// most Burst times per Interval. The first record let through after some
// were dropped carries "suppressed", their number. A flood of one refused
// request then costs a few lines a minute, not a line per request.
func LimitWarnings(next slog.Handler, now func() time.Time) slog.Handler {
	return &limiter{next: next, now: now, state: &limitState{seen: map[string]*window{}}}
}

type window struct {
	start      time.Time
	n          int // records in this window
	suppressed int // dropped since the last one written
}

// limitState is shared by a limiter and those made from it by WithAttrs and
// WithGroup, so that loggers with attributes count together.
type limitState struct {
	mu   sync.Mutex
	seen map[string]*window
}

type limiter struct {
	next  slog.Handler
	now   func() time.Time
	state *limitState
}

func (l *limiter) Enabled(ctx context.Context, level slog.Level) bool {
	return l.next.Enabled(ctx, level)
}

func (l *limiter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return l.next.Handle(ctx, r)
	}
	suppressed, ok := l.admit(r.Message)
	if !ok {
		return nil
	}
	if suppressed > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", suppressed))
	}
	return l.next.Handle(ctx, r)
}

// admit reports whether a record with this message may be written now, and
// how many were dropped before it.
func (l *limiter) admit(msg string) (suppressed int, ok bool) {
	s := l.state
	s.mu.Lock()
	defer s.mu.Unlock()
	now := l.now()
	w := s.seen[msg]
	if w == nil || now.Sub(w.start) >= Interval {
		if w == nil && len(s.seen) >= maxMessages {
			clear(s.seen)
		}
		if w == nil {
			w = &window{}
			s.seen[msg] = w
		}
		w.start, w.n = now, 0
	}
	if w.n >= Burst {
		w.suppressed++
		return 0, false
	}
	w.n++
	suppressed, w.suppressed = w.suppressed, 0
	return suppressed, true
}

func (l *limiter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &limiter{next: l.next.WithAttrs(attrs), now: l.now, state: l.state}
}

func (l *limiter) WithGroup(name string) slog.Handler {
	return &limiter{next: l.next.WithGroup(name), now: l.now, state: l.state}
}
