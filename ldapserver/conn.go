package ldapserver

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/ldapserver/internal/lber"
)

const oidNoticeOfDisconnection = "1.3.6.1.4.1.1466.20036"

// conn is one client connection. The reader goroutine decodes requests
// and starts an operation goroutine for each (at most MaxInFlight at once);
// responses go through one buffered writer that is flushed when no
// operation has a response still coming.
type conn struct {
	srv    *Server
	nc     net.Conn
	br     *bufio.Reader
	remote string // client IP, for backoff and audit

	wmu          sync.Mutex
	bw           *bufio.Writer // to socketWriter
	entryBuf     []byte        // where sendEntry encodes, reused from entry to entry
	pending      int           // operations whose final response is not yet written
	writeTimeout time.Duration

	mu      sync.Mutex
	who     *who
	running map[int64]*operation // by message ID, for Abandon
	ops     sync.WaitGroup
	slots   chan struct{} // one per operation running, up to MaxInFlight
	batches chan struct{} // one per search batch read and not yet sent (searchQuery.holdBatch)
	jobs    chan job      // to idle workers
	workers int           // started so far; only the reader goroutine counts
	tls     bool

	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
}

func newConn(s *Server, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	remote := nc.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host
	}
	c := &conn{
		srv: s, nc: nc, remote: remote,
		br: bufio.NewReaderSize(nc, 16<<10), writeTimeout: s.WriteTimeout,
		who: anonymous, running: map[int64]*operation{},
		slots: make(chan struct{}, s.MaxInFlight), batches: make(chan struct{}, batchesPerConn), jobs: make(chan job), ctx: ctx, cancel: cancel,
	}
	c.bw = bufio.NewWriterSize(socketWriter{c}, 32<<10)
	return c
}

// batchesPerConn bounds the search batches (each about batchBytes) that
// one connection's operations hold waiting for its socket. With the
// buffered writer and MaxInFlight small final responses, it bounds the
// response bytes queued for a client that does not read.
const batchesPerConn = 2

// socketWriter writes to the connection's socket with a fresh deadline
// for every write, so a client that stops reading holds a goroutine, and
// what its operation holds, for at most writeTimeout. The caller holds
// wmu.
type socketWriter struct{ c *conn }

func (w socketWriter) Write(p []byte) (int, error) {
	w.c.nc.SetWriteDeadline(socketDeadline(w.c.writeTimeout))
	return w.c.nc.Write(p)
}

func (c *conn) close() {
	c.once.Do(func() {
		c.cancel()
		c.nc.Close()
	})
}

func (c *conn) serve(useTLS bool) {
	defer func() {
		c.close()
		c.ops.Wait()
		if c.srv.Backend != nil {
			c.srv.Backend.pages.dropOwner(c)
		}
	}()
	if useTLS {
		if err := c.startTLS(); err != nil {
			c.srv.Logger.Debug("ldaps handshake failed", "remote", c.remote, "err", err)
			return
		}
	}
	for {
		c.nc.SetReadDeadline(socketDeadline(c.srv.IdleTimeout))
		raw, err := lber.ReadMessage(c.br, c.br, c.messageLimit(), nil)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && c.busy() {
				continue // a long operation is running: not idle
			}
			switch {
			case errors.Is(err, lber.ErrTooLarge):
				c.disconnect(ldap.LDAPResultProtocolError, "message too large")
			case errors.Is(err, lber.ErrNotMessage):
				c.disconnect(ldap.LDAPResultProtocolError, "not an LDAP message")
			case errors.Is(err, io.ErrUnexpectedEOF):
				c.disconnect(ldap.LDAPResultProtocolError, "truncated message")
			}
			return
		}
		m, err := decodeMessage(raw)
		if err != nil {
			if m == nil {
				c.disconnect(ldap.LDAPResultProtocolError, "malformed message")
				return
			}
			c.reply(m, fail(ldap.LDAPResultProtocolError, err.Error()), nil)
			m.release()
			continue
		}
		if !c.dispatch(m) {
			return
		}
	}
}

// messageLimit is the largest request the client may send next: small
// until a bind succeeds.
func (c *conn) messageLimit() int {
	if c.bound().anon {
		return c.srv.MaxUnboundMessageSize
	}
	return c.srv.MaxMessageSize
}

func (c *conn) busy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.running) > 0
}

// dispatch starts one request; it returns false when the connection ends.
// A request that becomes an operation is released by runOp, any other
// here.
func (c *conn) dispatch(m *message) bool {
	switch m.tag {
	case opUnbind:
		m.release()
		return false
	case opAbandon:
		c.abandon(m)
		m.release()
		return true
	case opBind:
		// RFC 4511 4.2.1: finish outstanding operations before a bind, and
		// run nothing else until it is done.
		c.ops.Wait()
		c.run(m)
		return true
	case opExtended:
		if len(m.op.Children) > 0 && str(m.op.Children[0]) == oidStartTLS {
			defer m.release()
			return c.handleStartTLS(m)
		}
	}
	if _, known := responseTag[m.tag]; !known {
		c.reply(m, fail(ldap.LDAPResultProtocolError, fmt.Sprintf("unknown operation %d", m.tag)), nil)
		m.release()
		return true
	}
	select {
	case c.slots <- struct{}{}:
	case <-c.ctx.Done():
		m.release()
		return false
	}
	ctx, op := c.track(m)
	j := job{ctx, m, op}
	select {
	case c.jobs <- j: // an idle worker
		return true
	default:
	}
	if c.workers < cap(c.slots) {
		c.workers++
		go c.work(j)
		return true
	}
	select {
	case c.jobs <- j:
	case <-c.ctx.Done():
		c.runOp(ctx, m, op) // cancelled: it only settles its accounts
		<-c.slots
	}
	return true
}

// abandon cancels the operation an Abandon request names.
func (c *conn) abandon(m *message) {
	id, _ := m.op.Value.(int64)
	if len(m.op.Data.Bytes()) > 0 && id == 0 {
		id = decodeInt(m.op.Data.Bytes())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if op, ok := c.running[id]; ok {
		op.abandoned.Store(true)
		op.cancel()
	}
}

// job is one operation handed to a worker.
type job struct {
	ctx context.Context
	m   *message
	op  *operation
}

// work runs operations of the connection until it closes. Workers outlive
// their operations because a goroutine per request would grow a fresh
// stack through the whole search path every time, which costs more than
// many searches do.
func (c *conn) work(j job) {
	for {
		c.runOp(j.ctx, j.m, j.op)
		<-c.slots
		select {
		case j = <-c.jobs:
		case <-c.ctx.Done():
			return
		}
	}
}

// operation is one running request.
type operation struct {
	cancel    context.CancelFunc
	abandoned atomic.Bool
}

// track registers m as running and pending a response.
func (c *conn) track(m *message) (context.Context, *operation) {
	ctx, cancel := context.WithCancel(c.ctx)
	op := &operation{cancel: cancel}
	c.mu.Lock()
	c.running[m.id] = op
	c.mu.Unlock()
	c.ops.Add(1)
	c.wmu.Lock()
	c.pending++
	c.wmu.Unlock()
	return ctx, op
}

// run executes m in the reader goroutine (binds).
func (c *conn) run(m *message) {
	ctx, op := c.track(m)
	c.runOp(ctx, m, op)
}

func (c *conn) runOp(ctx context.Context, m *message, op *operation) {
	defer c.ops.Done()
	defer m.release()
	defer func() {
		op.cancel()
		c.mu.Lock()
		// Once its response is written the client may reuse the message
		// ID, so the entry may already be a newer operation's.
		if c.running[m.id] == op {
			delete(c.running, m.id)
		}
		c.mu.Unlock()
	}()
	defer func() {
		if r := recover(); r != nil {
			c.srv.Logger.Error("panic in ldap operation", "op", m.tag, "panic", r, "stack", string(debug.Stack()))
			c.finish(m, fail(ldap.LDAPResultOther, "internal error"), nil)
		}
	}()
	for _, ctl := range m.controls {
		if ctl.critical && !slices.Contains(supportedControls, ctl.oid) {
			c.finish(m, fail(ldap.LDAPResultUnavailableCriticalExtension, "unsupported critical control "+ctl.oid), nil)
			return
		}
	}
	res, extra := c.measured(ctx, m)
	if op.abandoned.Load() {
		// RFC 4511 4.11: an abandoned operation gets no response at all.
		c.wmu.Lock()
		c.settleLocked()
		c.wmu.Unlock()
		return
	}
	c.finish(m, res, extra)
}

// finish writes the final response of m and flushes when nothing else is
// still answering.
func (c *conn) finish(m *message, res opResult, extra []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.writeLocked(lber.Envelope(m.id, lber.ResultOp(responseTag[m.tag], res.code, res.matched, res.msg, extra), encodeControls(res.controls)))
	c.settleLocked()
}

// settleLocked counts one operation as answered, and flushes when it was
// the last one pending.
func (c *conn) settleLocked() {
	c.pending--
	if c.pending <= 0 {
		c.pending = 0
		c.flushLocked()
	}
}

// reply answers a request that never became an operation.
func (c *conn) reply(m *message, res opResult, extra []byte) {
	tag, ok := responseTag[m.tag]
	if !ok {
		tag = tagExtendedResponse
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.writeLocked(lber.Envelope(m.id, lber.ResultOp(tag, res.code, res.matched, res.msg, extra), nil))
	if c.pending == 0 {
		c.flushLocked()
	}
}

func (c *conn) flushLocked() {
	if err := c.bw.Flush(); err != nil {
		c.gone(err)
	}
}

func (c *conn) writeLocked(b []byte) {
	if _, err := c.bw.Write(b); err != nil {
		c.gone(err)
	}
}

// gone closes the connection after a write failed: the client reset it
// or stopped reading, which is its doing, so it is logged at debug level.
func (c *conn) gone(err error) {
	c.srv.Logger.Debug("ldap client went away", "remote", c.remote, "err", err)
	c.close()
}

// sendEntry writes one search result entry.
func (c *conn) sendEntry(ctx context.Context, id int64, dn string, attrs []outAttr) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	msg := appendEntryMessage(c.entryBuf[:0], id, dn, attrs)
	c.entryBuf = msg
	if cap(msg) > maxEntryBuf {
		c.entryBuf = nil // a rare large entry: not kept for the connection's life
	}
	if _, err := c.bw.Write(msg); err != nil {
		c.close()
		return fmt.Errorf("%w: %w", errClientGone, err)
	}
	return nil
}

// maxEntryBuf is the largest encoding buffer a connection keeps.
const maxEntryBuf = 16 << 10

// errClientGone is a failed write to a client that reset the connection
// or stopped reading: the client's doing, not the server's.
var errClientGone = errors.New("client connection gone")

// disconnect sends a Notice of Disconnection (RFC 4511 4.4.1).
func (c *conn) disconnect(code uint16, msg string) {
	extra := lber.AppendString(nil, 0x8a, oidNoticeOfDisconnection)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.writeTimeout = time.Second // it is the last word
	c.bw.Write(lber.Envelope(0, lber.ResultOp(tagExtendedResponse, code, "", msg, extra), nil))
	c.bw.Flush()
}

func (c *conn) handleStartTLS(m *message) bool {
	c.ops.Wait()
	switch {
	case c.srv.TLSConfig == nil:
		c.reply(m, fail(ldap.LDAPResultUnavailable, "StartTLS is not configured"), nil)
		return true
	case c.tls:
		c.reply(m, fail(ldap.LDAPResultOperationsError, "TLS is already active"), nil)
		return true
	}
	c.reply(m, ok(), lber.AppendString(nil, 0x8a, oidStartTLS))
	if err := c.startTLS(); err != nil {
		c.srv.Logger.Debug("starttls handshake failed", "remote", c.remote, "err", err)
		return false
	}
	return true
}

func (c *conn) startTLS() error {
	tc := tls.Server(c.nc, c.srv.TLSConfig)
	tc.SetDeadline(socketDeadline(c.srv.TLSHandshakeTimeout))
	if err := tc.Handshake(); err != nil {
		return err
	}
	tc.SetDeadline(time.Time{})
	c.wmu.Lock()
	c.nc, c.tls = tc, true
	c.br = bufio.NewReaderSize(tc, 16<<10)
	c.bw = bufio.NewWriterSize(socketWriter{c}, 32<<10)
	c.wmu.Unlock()
	return nil
}

// socketDeadline is d from now on the real clock. The runtime checks socket
// deadlines against the real clock, so they are the one use of time.Now in
// this package; everything else reads BackendConfig.Now.
func socketDeadline(d time.Duration) time.Time { return time.Now().Add(d) }

func decodeInt(b []byte) int64 {
	var v int64
	for _, x := range b {
		v = v<<8 | int64(x)
	}
	return v
}
