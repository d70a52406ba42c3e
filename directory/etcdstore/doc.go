// Package etcdstore is the storage engine for several Atrium nodes sharing
// one etcd cluster: a directory.Store whose reads come from a local mirror
// of the keyspace and whose writes are etcd transactions.
//
// Layout under the prefix P (default /atrium): each record lives at
// P/d/<bucket>\x00<key>, and every committed Update also puts P/meta/commit.
//
// Reads. Open loads the keyspace at one revision with paged range reads,
// then follows it with a Watch from the next revision. Each watch response is
// applied as one step and published as an immutable copy-on-write B-tree;
// View reads one such snapshot and makes no network call. A compacted
// watch reloads the whole keyspace and swaps it in; it never skips ahead.
// Progress notifications are not used (etcd 3.4 lacks the fix they need).
//
// Writes. Update runs fn on an overlay over the newest snapshot, taken when
// P/meta/commit was at revision G, and commits the overlay as one txn
// If(ModRevision(P/meta/commit) == G) Then(puts and deletes, Put(P/meta/commit)).
// So no two transactions that read the same state can both commit, which
// makes Updates serializable across nodes. On conflict fn runs again, once
// the mirror has caught up, a bounded number of times: fn must have no side
// effects beyond the Tx. Update returns once the local mirror holds the
// commit (read-your-writes). Updates of one Store take turns, as bbolt's
// do, so conflicts only arise between nodes. An Update that fails or
// writes nothing was not checked by the guard, so it first asks etcd
// (one linearizable read) whether another node committed since its
// snapshot, and runs again if so: a refusal is never based on a stale
// mirror.
//
// Lost replies. When a commit's reply is lost (a time-out after sending),
// Update settles the outcome before anything else: it puts the commit key
// under the same guard (a fence), which either lands, so the lost
// transaction can never apply and fn runs again, or fails because a commit
// came first, whose transaction ID the mirror's recent history names.
// A transaction is never applied twice.
//
// Sync waits, after one linearizable read (shared by Syncs that arrive
// together), until the mirror holds every commit made anywhere before the
// call; callers use it before checking credentials that another node may
// just have changed. Notify tells in-memory caches of every record the
// mirror changes, whichever node wrote it.
//
// A member cut off. Every request and the watch ask for a leader
// (WithRequireLeader), so a member without one refuses at once instead of
// holding writes and linearizable reads until they time out or keeping a
// silent watch. On such a refusal the Store sets the client's endpoints to
// the members that have a leader and re-opens the watch from the mirror's
// revision; it follows all again once the member has a leader (leave.go).
//
// Lost quorum. Views go on from the mirror. Writes and Sync fail with
// ErrUnavailable after Options.RequestTimeout instead of waiting; the
// watch is retried and resumes where it stopped once there is a leader.
//
// Limits. An Update writes at most MaxTxnOps-1 keys and about
// MaxRequestBytes; a larger one fails with ErrTxnTooLarge before anything
// is sent. Work that can exceed that (import, restore, large cascades) must
// be split by its caller into idempotent chunks; MaxWrites tells a
// directory the bound (directory.WriteLimiter). Replace copies a whole
// store in such chunks (migration, restore), marking the keyspace
// Incomplete until it ends, so a copy stopped partway is finished by
// running it again.
//
// Health makes one linearizable read and reports the mirror's lag behind
// the newest commit, for /healthz. The package etcdtest runs clusters for
// tests: in-process (embed, optionally over TLS) and of Debian's binary.
package etcdstore
