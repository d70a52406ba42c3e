package console

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/url"
	"strings"
)

// Mailer sends a plain-text mail; the console sends invite links with it
// when SMTP is configured.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// SMTP returns a Mailer that sends through the server at rawURL
// (smtp://[user:password@]host:port) from the address from. Credentials
// are only sent over TLS (STARTTLS) or to a loopback server, as net/smtp
// insists.
func SMTP(rawURL, from string) (Mailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "smtp" || u.Hostname() == "" {
		return nil, errors.New("mail.smtp_url: want smtp://[user:password@]host:port")
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "25")
	}
	m := &smtpMailer{addr: addr, from: from}
	if u.User != nil {
		pw, _ := u.User.Password()
		m.auth = smtp.PlainAuth("", u.User.Username(), pw, u.Hostname())
	}
	return m, nil
}

type smtpMailer struct {
	addr, from string
	auth       smtp.Auth
}

// Send writes one message. net/smtp takes no context; the server's own
// timeouts bound it.
func (m *smtpMailer) Send(_ context.Context, to, subject, body string) error {
	if strings.ContainsAny(to+subject, "\r\n") {
		return fmt.Errorf("mail to %q: a header holds a line break", to)
	}
	msg := "From: " + m.from + "\r\nTo: " + to + "\r\nSubject: " + subject +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.ReplaceAll(body, "\n", "\r\n")
	if err := smtp.SendMail(m.addr, m.auth, m.from, []string{to}, []byte(msg)); err != nil {
		return fmt.Errorf("mail to %s: %w", to, err)
	}
	return nil
}
