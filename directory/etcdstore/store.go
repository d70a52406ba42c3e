package etcdstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/atrium-dir/atrium/directory"
)

// Defaults of Options.
const (
	DefaultPrefix          = "/atrium"
	DefaultMaxTxnOps       = 128
	DefaultMaxAttempts     = 100
	DefaultConflictTimeout = 30 * time.Second
	// DefaultRequestTimeout bounds each request to etcd that a write or a
	// Sync makes.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultMaxRequestBytes leaves room for the txn's framing under etcd's
	// default --max-request-bytes of 1.5 MiB.
	DefaultMaxRequestBytes = 1536*1024 - 64*1024
)

var (
	// ErrTxnTooLarge means an Update wrote more than one etcd transaction
	// can carry; nothing was written.
	ErrTxnTooLarge = errors.New("transaction too large for one etcd transaction")
	// ErrUnavailable means etcd could not be reached in time or has no
	// leader (quorum lost). Writes fail with it; Views go on from the mirror.
	// It wraps directory.ErrUnavailable, which the front ends map.
	ErrUnavailable = fmt.Errorf("etcd cluster unreachable or without quorum: %w", directory.ErrUnavailable)
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("etcd store is closed")
)

var (
	_ directory.Store        = (*Store)(nil)
	_ directory.WriteLimiter = (*Store)(nil)
)

// Options tune a Store. The zero value is usable.
type Options struct {
	// Prefix is where Atrium's keys live in etcd (default /atrium).
	Prefix string
	// MaxTxnOps is the cluster's --max-txn-ops (default 128).
	MaxTxnOps int
	// MaxRequestBytes bounds the keys and values one Update may write.
	MaxRequestBytes int
	// MaxAttempts and ConflictTimeout bound how long Update runs fn again
	// while other nodes keep committing first: it gives up once both are
	// spent (defaults 100 and 30s). A node in a burst of writes (an
	// import, a script) can win many races in a row; the others' writes
	// wait for the burst to ease rather than fail.
	MaxAttempts     int
	ConflictTimeout time.Duration
	// RequestTimeout bounds each request to etcd that a write or a Sync
	// makes (default 10s), so that they fail without quorum instead of
	// waiting for it.
	RequestTimeout time.Duration
	Logger         *slog.Logger
}

// Store is a directory.Store on an etcd cluster. See the package doc.
type Store struct {
	cli       *clientv3.Client
	kv        clientv3.KV // cli's, unless a test loses replies
	opts      Options
	root      string // Prefix + "/": everything the mirror follows
	data      string // root + "d/": records
	commitKey string
	log       *slog.Logger

	snap    atomic.Pointer[snapshot]
	writer  chan struct{} // one Update of this Store at a time
	closed  chan struct{}
	reloads atomic.Int64
	history history
	steer   steering

	syncs    syncRounds
	notifyMu sync.Mutex
	notify   []func(rev int64, changes []Change)

	watchMu   sync.Mutex
	stopWatch context.CancelFunc
	watchDone chan struct{}
	mirror    *mirror // owned by the watch goroutine while it runs
}

// Open loads Atrium's keyspace from etcd and starts following it. The
// client stays the caller's: Close does not close it. While a member has
// no leader the Store leaves it out of the client's endpoints (leave.go),
// and puts it back by Close at the latest.
func Open(ctx context.Context, cli *clientv3.Client, opts Options) (*Store, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.MaxTxnOps <= 1 {
		opts.MaxTxnOps = DefaultMaxTxnOps
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.ConflictTimeout <= 0 {
		opts.ConflictTimeout = DefaultConflictTimeout
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	root := strings.TrimSuffix(opts.Prefix, "/") + "/"
	s := &Store{
		cli: cli, kv: cli, opts: opts, root: root, data: root + "d/", commitKey: root + "meta/commit",
		log:    opts.Logger.With("store", "etcd", "prefix", opts.Prefix),
		writer: make(chan struct{}, 1),
		closed: make(chan struct{}),
		steer:  steering{all: cli.Endpoints()},
	}
	m, err := s.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load etcd keyspace %s: %w", root, err)
	}
	s.mirror = m
	s.publish(m)
	s.startWatch()
	return s, nil
}

// Close stops following etcd. Transactions still running fail.
func (s *Store) Close() error {
	select {
	case <-s.closed:
		return nil
	default:
	}
	close(s.closed)
	s.pauseWatch()
	return nil
}

// MaxWrites is the number of keys one Update may write (directory.WriteLimiter).
func (s *Store) MaxWrites() int { return s.opts.MaxTxnOps - 1 }

func (s *Store) View(ctx context.Context, fn func(directory.Tx) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	return fn(&tx{snap: s.snap.Load()})
}

// Sync waits until the mirror holds every commit made on any node before
// Sync was called. It costs at most one linearizable read, which Syncs
// called at about the same time share (see syncs); use it before trusting
// the mirror with something another node may just have changed.
func (s *Store) Sync(ctx context.Context) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	rev, err := s.syncs.commitRevision(ctx, s.readCommitRevision)
	if err != nil {
		return fmt.Errorf("etcd: read commit revision: %w", unavailable(err))
	}
	if err := s.waitFor(ctx, rev); err != nil {
		return unavailable(err)
	}
	return nil
}

// readCommitRevision is one linearizable read of the commit key's revision.
func (s *Store) readCommitRevision() (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.RequestTimeout)
	defer cancel()
	resp, err := s.kv.Get(clientv3.WithRequireLeader(ctx), s.commitKey)
	if err != nil || len(resp.Kvs) == 0 {
		return 0, err
	}
	return resp.Kvs[0].ModRevision, nil
}

func (s *Store) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.closed:
		return ErrClosed
	default:
		return nil
	}
}

func newTxnID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// unavailable marks err as ErrUnavailable when etcd was unreachable,
// leaderless or too slow, rather than refusing the request. A member that
// loses its quorum while it waits to confirm a read answers with its own
// timeout as code Unknown ("context deadline exceeded"), which counts too.
func unavailable(err error) error {
	code := status.Code(err)
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		code = ee.Code()
	}
	var grpcErr interface{ GRPCStatus() *status.Status }
	timedOut := errors.As(err, &grpcErr) && grpcErr.GRPCStatus().Code() == codes.Unknown &&
		grpcErr.GRPCStatus().Message() == context.DeadlineExceeded.Error()
	if code == codes.Unavailable || code == codes.DeadlineExceeded || timedOut || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}
