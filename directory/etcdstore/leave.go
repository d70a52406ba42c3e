package etcdstore

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// A member cut off from the others has no leader but still answers, and
// the client spreads requests over all its endpoints, so a node would keep
// sending writes and watches to it. Every request the Store sends asks for
// a leader (WithRequireLeader), so such a member refuses at once. On a
// refusal the Store asks each endpoint for its status and sets the
// client's endpoints to all but the members without a leader; then it
// checks, with a growing interval, until those have a leader again and
// follows all. A client of one endpoint is never steered.
const (
	probeTimeout = time.Second
	probeEvery   = 250 * time.Millisecond // at most one probe per burst of refusals
	rejoinFirst  = time.Second            // first wait before a rejoin check
	rejoinMax    = 10 * time.Second       // longest wait between rejoin checks
)

type steering struct {
	all       []string // the client's endpoints at Open
	mu        sync.Mutex
	left      []string // endpoints left out; nil when following all
	probedAt  time.Time
	rejoining bool
}

func isNoLeader(err error) bool {
	return err != nil && rpctypes.ErrorDesc(err) == rpctypes.ErrNoLeader.Error()
}

// leaveLeaderless is called after a member refused a request for want of
// a leader. It reports whether the client now leaves some member out, so
// that a refused request is worth sending again.
func (s *Store) leaveLeaderless() bool {
	st := &s.steer
	if len(st.all) < 2 {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if time.Since(st.probedAt) >= probeEvery {
		s.steerLocked()
	}
	return len(st.left) > 0
}

// steerLocked probes every endpoint and, if at least one has a leader,
// follows all but those without one; it starts the rejoin checks when it
// leaves a member out.
func (s *Store) steerLocked() {
	st := &s.steer
	st.probedAt = time.Now()
	led, leaderless := s.probe()
	if len(led) == 0 || slices.Equal(leaderless, st.left) {
		return
	}
	var follow []string
	for _, ep := range st.all {
		if !slices.Contains(leaderless, ep) {
			follow = append(follow, ep)
		}
	}
	s.cli.SetEndpoints(follow...)
	st.left = leaderless
	if len(leaderless) == 0 {
		s.log.Info("etcd members have a leader again; following all", "following", follow)
		return
	}
	s.log.Warn("etcd member has no leader; following the others", "left", leaderless, "following", follow)
	if !st.rejoining {
		st.rejoining = true
		go s.rejoin()
	}
}

// probe asks every endpoint for its status, at once.
func (s *Store) probe() (led, leaderless []string) {
	has := make([]int, len(s.steer.all)) // 1: a leader, -1: none, 0: no answer
	var wg sync.WaitGroup
	for i, ep := range s.steer.all {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
			defer cancel()
			if st, err := s.cli.Status(ctx, ep); err == nil {
				has[i] = 1
				if st.Leader == 0 {
					has[i] = -1
				}
			}
		})
	}
	wg.Wait()
	for i, ep := range s.steer.all {
		switch has[i] {
		case 1:
			led = append(led, ep)
		case -1:
			leaderless = append(leaderless, ep)
		}
	}
	return led, leaderless
}

// rejoin checks, with a growing interval, whether the members left out
// have a leader again, and follows all of them once they do or the Store
// closes.
func (s *Store) rejoin() {
	wait := rejoinFirst
	for {
		select {
		case <-s.closed:
			// The client is the caller's: leave it as it came.
			s.steer.mu.Lock()
			s.cli.SetEndpoints(s.steer.all...)
			s.steer.left, s.steer.rejoining = nil, false
			s.steer.mu.Unlock()
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, rejoinMax)
		s.steer.mu.Lock()
		s.steerLocked()
		if len(s.steer.left) == 0 {
			s.steer.rejoining = false
			s.steer.mu.Unlock()
			return
		}
		s.steer.mu.Unlock()
	}
}
