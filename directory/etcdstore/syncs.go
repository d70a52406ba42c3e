package etcdstore

import (
	"context"
	"sync"
)

// syncRounds lets concurrent Syncs share linearizable reads. A caller
// joins the round that has not been sent yet, never one already in flight:
// a read sent before the caller arrived could miss a commit the caller
// knows of. So under load every caller waits for at most one read in
// flight and one of its own round, and a burst of binds costs two reads.
type syncRounds struct {
	mu      sync.Mutex
	next    *syncRound // not yet sent; callers join it
	running bool
}

type syncRound struct {
	done chan struct{}
	rev  int64
	err  error
}

// commitRevision returns the commit key's revision, read by read after
// the call began.
func (r *syncRounds) commitRevision(ctx context.Context, read func() (int64, error)) (int64, error) {
	r.mu.Lock()
	round := r.next
	if round == nil {
		round = &syncRound{done: make(chan struct{})}
		r.next = round
		if !r.running {
			r.running = true
			go r.run(read)
		}
	}
	r.mu.Unlock()
	select {
	case <-round.done:
		return round.rev, round.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// run sends one round after another until no caller waits.
func (r *syncRounds) run(read func() (int64, error)) {
	for {
		r.mu.Lock()
		round := r.next
		r.next = nil
		if round == nil {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		round.rev, round.err = read()
		close(round.done)
	}
}
