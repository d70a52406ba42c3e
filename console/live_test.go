package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/atrium-dir/atrium/directory"
)

// liveAnswer is an answer on the live-search socket.
type liveAnswer struct {
	ID    int64 `json:"id"`
	Users []struct {
		UID, Name string
	} `json:"users"`
	Members []struct{ Ref, Label string } `json:"members"`
	Error   string                        `json:"error"`
}

// dialLive opens b's live-search socket with the Origin header origin
// ("" for none).
func (b *client) dialLive(origin string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{Jar: b.c.Jar, HandshakeTimeout: 5 * time.Second}
	return d.Dial("ws"+strings.TrimPrefix(b.base, "http")+"/admin/live", h)
}

// mustDialLive is dialLive from the site's own origin, failing the test
// when the socket does not open.
func (b *client) mustDialLive() *websocket.Conn {
	b.t.Helper()
	conn, resp, err := b.dialLive(b.base)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		b.t.Fatalf("live socket: %v (%d)", err, status)
	}
	b.t.Cleanup(func() { conn.Close() })
	return conn
}

// ask sends one search on conn and reads its answer; err is the socket's
// when it closed instead.
func ask(t *testing.T, conn *websocket.Conn, id int64, kind, q string) (liveAnswer, error) {
	t.Helper()
	msg, _ := json.Marshal(map[string]any{"id": id, "kind": kind, "q": q})
	if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		return liveAnswer{}, err
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var a liveAnswer
	err := conn.ReadJSON(&a)
	return a, err
}

// The users page and the member picker search over one socket: each
// answer carries its search's ID and what the JSON pages would show.
func TestLiveSearch(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	conn := admin.mustDialLive()

	a, err := ask(t, conn, 7, "users", "ali")
	if err != nil || a.ID != 7 || len(a.Users) != 1 || a.Users[0].UID != "alice" || a.Users[0].Name != "Alice Liddell" {
		t.Fatalf("users search for ali: %+v, %v", a, err)
	}
	a, err = ask(t, conn, 8, "members", "op")
	if err != nil || a.ID != 8 || len(a.Members) != 1 || a.Members[0].Ref != "group:ops" {
		t.Fatalf("picker search for op: %+v, %v", a, err)
	}
	a, err = ask(t, conn, 9, "users", "nobody-has-this")
	if err != nil || a.Users == nil || len(a.Users) != 0 {
		t.Fatalf("a search that matches nobody: %+v, %v (want an empty list)", a, err)
	}
	if a, err = ask(t, conn, 10, "secrets", "a"); err != nil || a.Error != "Unknown search." {
		t.Fatalf("an unknown kind of search: %+v, %v", a, err)
	}
	if a, err = ask(t, conn, 11, "users", "adm"); err != nil || len(a.Users) != 1 {
		t.Fatalf("the socket after a refused search: %+v, %v", a, err)
	}
}

// Only an admin whose session used a second factor opens the socket, and
// only from a page of the console's own origin.
func TestLiveSearchRefusals(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	noFactor := newSite(t, directory.MFAPolicy{}, false)
	admin, alice, stranger, unfactored := st.client(), st.client(), st.client(), noFactor.client()
	admin.signIn("/admin/", "admin")
	alice.signIn("/", "alice")
	unfactored.signIn("/", "admin")
	for _, c := range []struct {
		name   string
		b      *client
		origin string
		want   int
	}{
		{"alice, no admin", alice, alice.base, http.StatusForbidden},
		{"an admin without a second factor (sent to add one)", unfactored, unfactored.base, http.StatusSeeOther},
		{"no session", stranger, stranger.base, http.StatusSeeOther},
		{"another origin", admin, "https://evil.example", http.StatusForbidden},
		{"no origin", admin, "", http.StatusForbidden},
	} {
		conn, resp, err := c.b.dialLive(c.origin)
		if err == nil {
			conn.Close()
			t.Errorf("%s: the socket opened", c.name)
			continue
		}
		if resp == nil || resp.StatusCode != c.want {
			t.Errorf("%s: %v, want %d", c.name, resp, c.want)
		}
	}
}

// Every search is checked as a request would be: once the admin leaves
// the admin groups, or signs out, the next search ends the socket unanswered.
func TestLiveSearchEndsWithTheSession(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		end  func(b *client)
	}{
		{"removed from admins", func(*client) {
			if _, err := st.d.ChangeMembers(ctx, "admins", nil, []directory.MemberRef{{Name: "admin"}}); err != nil {
				t.Fatal(err)
			}
		}},
		{"signed out", func(b *client) {
			_, page := b.get("/")
			b.do("POST", "/logout", map[string][]string{"csrf": {csrfRE.FindStringSubmatch(page)[1]}})
		}},
	} {
		if _, err := st.d.ChangeMembers(ctx, "admins", []directory.MemberRef{{Name: "admin"}}, nil); err != nil && !strings.Contains(err.Error(), "already") {
			t.Fatal(err)
		}
		st.clock.Advance(30 * time.Second) // a fresh code for the sign-in
		admin := st.client()
		admin.signIn("/admin/", "admin")
		conn := admin.mustDialLive()
		if _, err := ask(t, conn, 1, "users", "ali"); err != nil {
			t.Fatalf("%s: first search: %v", c.name, err)
		}
		c.end(admin)
		a, err := ask(t, conn, 2, "users", "ali")
		if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
			t.Errorf("%s: the next search got %+v, %v; want the socket closed (policy violation)", c.name, a, err)
		}
	}
}

// A message that is no search, or too large for one, ends the socket; the
// server goes on.
func TestLiveSearchBadMessages(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	for _, c := range []struct {
		name string
		msg  []byte
		code int
	}{
		{"not JSON", []byte("{\"id\": 1, kind"), websocket.CloseUnsupportedData},
		{"too large", []byte(`{"id":1,"kind":"users","q":"` + strings.Repeat("a", 8<<10) + `"}`), websocket.CloseMessageTooBig},
	} {
		conn := admin.mustDialLive()
		conn.WriteMessage(websocket.TextMessage, c.msg)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := conn.ReadMessage(); !websocket.IsCloseError(err, c.code) {
			t.Errorf("%s: %v, want close %d", c.name, err, c.code)
		}
	}
	if a, err := ask(t, admin.mustDialLive(), 1, "users", "ali"); err != nil || len(a.Users) != 1 {
		t.Fatalf("a new socket after bad messages: %+v, %v", a, err)
	}
}

// One session opens at most eight sockets (a page past them searches over
// the JSON pages), and CloseLive, which the server calls as it shuts
// down, closes those open and refuses more.
func TestLiveSearchLimits(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	var open []*websocket.Conn
	for range 8 {
		open = append(open, admin.mustDialLive())
	}
	if conn, resp, err := admin.dialLive(admin.base); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		if conn != nil {
			conn.Close()
		}
		t.Fatalf("a ninth socket: %v, %v; want 503", resp, err)
	}
	open[0].Close()
	waitFor(t, "the first socket's slot to free", func() bool {
		conn, _, err := admin.dialLive(admin.base)
		if err == nil {
			open[0] = conn
		}
		return err == nil
	})
	st.console.CloseLive()
	for i, conn := range open {
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := conn.ReadMessage(); err == nil {
			t.Errorf("socket %d still open after CloseLive", i)
		}
	}
	if conn, resp, err := admin.dialLive(admin.base); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		if conn != nil {
			conn.Close()
		}
		t.Errorf("a socket after CloseLive: %v, %v; want 503", resp, err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5 s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
