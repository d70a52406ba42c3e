package console_test

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-dir/atrium/console"
	"github.com/atrium-dir/atrium/directory"
)

// smtpServer is a minimal SMTP server on loopback that keeps every
// message it is given.
type smtpServer struct {
	ln   net.Listener
	mu   sync.Mutex
	mail []smtpMessage
}

type smtpMessage struct {
	from, data string
	to         []string
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { c.Write([]byte(line + "\r\n")) }
	say("220 test ESMTP")
	var m smtpMessage
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 test")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m = smtpMessage{from: strings.TrimSpace(line[10:])}
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.to = append(m.to, strings.Trim(strings.TrimSpace(line[8:]), "<>"))
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.data = b.String()
			s.mu.Lock()
			s.mail = append(s.mail, m)
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *smtpServer) messages() []smtpMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]smtpMessage(nil), s.mail...)
}

var mailedLinkRE = regexp.MustCompile(`http://[^\s]+/invite/[A-Za-z0-9_-]+`)

// With SMTP configured, a new user's invite goes to their mail address
// through a test SMTP server; the mailed link is the one the admin sees,
// and it opens the invite page.
func TestInviteMailed(t *testing.T) {
	smtpd := startSMTP(t)
	mailer, err := console.SMTP("smtp://"+smtpd.ln.Addr().String(), "atrium@example.com")
	if err != nil {
		t.Fatal(err)
	}
	st := newSiteWith(t, directory.MFAPolicy{}, true, nil, console.Options{Mail: mailer})
	admin := st.client()
	admin.signIn("/admin/", "admin")
	_, page := admin.submit("/admin/users/new", "/admin/users", url.Values{"uid": {"dave"}, "mail": {"dave@example.com"}, "name": {"Dave"}})
	shown := mailedLinkRE.FindString(page)
	if shown == "" || !strings.Contains(page, `id="emailed"`) {
		t.Fatalf("the page shows no link or no word of the mail:\n%.800s", page)
	}
	msgs := smtpd.messages()
	if len(msgs) != 1 || len(msgs[0].to) != 1 || msgs[0].to[0] != "dave@example.com" || msgs[0].from != "<atrium@example.com>" {
		t.Fatalf("mail sent: %+v", msgs)
	}
	data := msgs[0].data
	if !strings.Contains(data, "To: dave@example.com") || !strings.Contains(data, "Subject: Your Atrium account") {
		t.Errorf("the mail's headers:\n%s", data)
	}
	if mailed := mailedLinkRE.FindString(data); mailed != shown {
		t.Errorf("the mailed link %q is not the one shown, %q", mailed, shown)
	}
	resp, body := st.client().get(shown)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="new"`) {
		t.Errorf("the mailed link opens %d:\n%.300s", resp.StatusCode, body)
	}
}
