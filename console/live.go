package console

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/atrium-dir/atrium/signin"
)

// The live search. While an admin types on the users page or in the member
// picker, console.js sends each search over one WebSocket (/admin/live)
// rather than as a new HTTP request, as an LDAP client sends its searches
// over one bound connection: a request's parsing, headers, cookie and
// routing cost more than a one-user search itself. Each message is still
// checked as a request would be (the session still live, its user still an
// admin, a second factor used); the first failed check ends the socket.
// The script falls back to the JSON pages (?format=json, /admin/members)
// when the socket cannot open, and pages work without the script.

const (
	// liveMessageLimit caps a search message; a search is a few words.
	liveMessageLimit = 4 << 10
	// liveIdle ends a socket no search used for this long; the page opens
	// a new one at the next keystroke.
	liveIdle = 5 * time.Minute
	// liveWriteTimeout drops a browser that stops reading its answers.
	liveWriteTimeout = 10 * time.Second
	// liveSearchTimeout bounds one search.
	liveSearchTimeout = 10 * time.Second
	// livePerSession caps the sockets of one session (one per open page
	// that searched); a page past it falls back to the JSON pages.
	livePerSession = 8
)

// liveQuery is one search as console.js sends it.
type liveQuery struct {
	ID    int64  `json:"id"`
	Kind  string `json:"kind"` // "users" (the users page) or "members" (the picker)
	Q     string `json:"q"`
	After string `json:"after"`
}

// liveAnswer answers the liveQuery with the same ID with a users page, the
// picker's suggestions, or a plain error.
type liveAnswer struct {
	ID int64 `json:"id"`
	*usersPage
	*memberPicks
	Error string `json:"error,omitempty"`
}

// liveSockets are the open live-search sockets, counted by session.
type liveSockets struct {
	mu        sync.Mutex
	bySession map[string]int
	open      map[*websocket.Conn]struct{}
	closed    bool
	answered  atomic.Int64 // searches answered, for tests
}

func newLiveSockets() *liveSockets {
	return &liveSockets{bySession: map[string]int{}, open: map[*websocket.Conn]struct{}{}}
}

// reserve counts a socket about to open for session; false when the
// session has its most or the console is closing.
func (l *liveSockets) reserve(session string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.bySession[session] >= livePerSession {
		return false
	}
	l.bySession[session]++
	return true
}

// release ends what reserve counted.
func (l *liveSockets) release(session string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.bySession[session]--; l.bySession[session] <= 0 {
		delete(l.bySession, session)
	}
}

// track keeps conn for closeAll until the returned func; false when the
// console is closing.
func (l *liveSockets) track(conn *websocket.Conn) (untrack func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, false
	}
	l.open[conn] = struct{}{}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.open, conn)
	}, true
}

func (l *liveSockets) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for conn := range l.open {
		conn.NetConn().Close()
	}
}

// CloseLive ends the live searches and refuses new ones. Call it when the
// HTTP server shuts down (http.Server.RegisterOnShutdown): Shutdown leaves
// upgraded connections alone.
func (c *Console) CloseLive() { c.live.closeAll() }

// liveUpgrader accepts a socket from a page of this origin only: browsers
// send Origin with every WebSocket request, and a page elsewhere must not
// search with the admin's session.
var liveUpgrader = websocket.Upgrader{CheckOrigin: func(r *http.Request) bool {
	return r.Header.Get("Origin") != "" && sameOrigin(r)
}}

// liveSearch opens a live-search socket for an admin and answers its
// searches until it closes.
func (c *Console) liveSearch(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	if !c.live.reserve(a.Session.ID) {
		http.Error(w, "Too many live searches; the page searches without one.", http.StatusServiceUnavailable)
		return
	}
	defer c.live.release(a.Session.ID)
	conn, err := liveUpgrader.Upgrade(w, r, nil) // answers a refusal itself
	if err != nil {
		return
	}
	defer conn.Close()
	untrack, ok := c.live.track(conn)
	if !ok {
		return
	}
	defer untrack()
	// The server's own deadlines were for the upgrade request.
	conn.NetConn().SetDeadline(time.Time{})
	conn.SetReadLimit(liveMessageLimit)
	c.answerLive(conn, r)
}

// answerLive answers searches on conn until it closes or the session that
// opened it (r's) may no longer use the console. Socket deadlines are on
// the wall clock, not c.now.
func (c *Console) answerLive(conn *websocket.Conn, r *http.Request) {
	for {
		conn.SetReadDeadline(time.Now().Add(liveIdle))
		_, raw, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var q liveQuery
		if err := json.Unmarshal(raw, &q); err != nil {
			c.closeLive(conn, websocket.CloseUnsupportedData, "not a search")
			return
		}
		if !c.stillAdmin(r) {
			c.closeLive(conn, websocket.ClosePolicyViolation, "signed out")
			return
		}
		answer := c.liveAnswer(r.Context(), q)
		conn.SetWriteDeadline(time.Now().Add(liveWriteTimeout))
		if err := conn.WriteJSON(answer); err != nil {
			return
		}
		c.live.answered.Add(1)
	}
}

// stillAdmin reports whether the session of r may still use the console.
func (c *Console) stillAdmin(r *http.Request) bool {
	a, ok := c.signin.Recheck(r)
	return ok && signin.UsedMFA(a.Session.Methods) && c.IsAdmin(r.Context(), a.User.ID)
}

func (c *Console) closeLive(conn *websocket.Conn, code int, reason string) {
	msg := websocket.FormatCloseMessage(code, reason)
	_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}

// liveAnswer runs one search; a failure is logged and answered plainly.
func (c *Console) liveAnswer(ctx context.Context, q liveQuery) liveAnswer {
	ctx, cancel := context.WithTimeout(ctx, liveSearchTimeout)
	defer cancel()
	answer := liveAnswer{ID: q.ID}
	var err error
	switch q.Kind {
	case "users":
		var v usersView
		if v, err = c.searchUsers(ctx, q.Q, q.After); err == nil {
			page := v.page()
			answer.usersPage = &page
		}
	case "members":
		var picks []pick
		if picks, err = c.suggestMembers(ctx, q.Q); err == nil {
			answer.memberPicks = &memberPicks{Members: picks}
		}
	default:
		answer.Error = "Unknown search."
		return answer
	}
	if err != nil {
		c.log.Error("console: live search", "kind", q.Kind, "err", err)
		answer.Error = "The search failed. Try again in a moment."
	}
	return answer
}
