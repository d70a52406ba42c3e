package push_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/push"
)

// The sender against a push service that checks the VAPID token and
// decrypts the message with the subscription's keys.
func TestWebPushDelivers(t *testing.T) {
	f := newFixture(t)
	f.enroll(t, f.alice, "phone")
	tx := f.start(t, f.alice)

	msgs := f.svc.messages()
	if len(msgs) != 1 {
		t.Fatalf("push service got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	var got push.Message
	if err := json.Unmarshal(m.plaintext, &got); err != nil {
		t.Fatalf("decrypted payload is not JSON: %q", m.plaintext)
	}
	want := push.Message{Tx: tx.ID, App: "Grafana", Browser: "Firefox", OS: "Linux", IP: "192.0.2.7"}
	if got != want {
		t.Errorf("payload %+v, want %+v", got, want)
	}
	// Nothing beyond these fields travels, so the number cannot.
	var fields map[string]any
	json.Unmarshal(m.plaintext, &fields)
	if len(fields) != 5 {
		t.Errorf("payload %s has fields beyond tx, app, browser, os and ip", m.plaintext)
	}
	for h, want := range map[string]string{"TTL": "60", "Urgency": "high", "Topic": push.Topic(f.alice.ID)} {
		if v := m.header.Get(h); v != want {
			t.Errorf("header %s = %q, want %q", h, v, want)
		}
	}
	if m.vapidSub != "https://sso.example.com" {
		t.Errorf("VAPID sub %q, want the external URL", m.vapidSub)
	}
}

func TestTopic(t *testing.T) {
	for _, id := range []string{"", "x", strings.Repeat("long-user-id", 20)} {
		topic := push.Topic(id)
		if len(topic) > 32 || strings.Trim(topic, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Errorf("Topic(%q) = %q: not at most 32 URL-safe base64 characters", id, topic)
		}
	}
	if push.Topic("a") == push.Topic("b") {
		t.Error("two users share a topic")
	}
}

func TestSubscriber(t *testing.T) {
	for in, want := range map[string]string{
		"https://sso.example.com":  "https://sso.example.com",
		"http://localhost:8080":    "atrium@localhost",
		"http://192.0.2.1:8080/x/": "atrium@192.0.2.1",
		"":                         "atrium@localhost",
	} {
		if got := push.Subscriber(in); got != want {
			t.Errorf("Subscriber(%q) = %q, want %q", in, got, want)
		}
	}
}

// A push service answering 404 or 410 has forgotten the subscription: the
// phone's factor is removed, and the other phone still gets the push.
func TestGoneSubscriptionIsDropped(t *testing.T) {
	for _, status := range []int{404, 410} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			f := newFixture(t)
			gone := f.enroll(t, f.alice, "old-phone")
			kept := f.enroll(t, f.alice, "new-phone")
			f.svc.status["old-phone"] = status
			f.start(t, f.alice)

			factors, err := f.dir.Factors(context.Background(), f.alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, fa := range factors {
				ids = append(ids, fa.ID)
			}
			if slices.Contains(ids, gone.ID) || !slices.Contains(ids, kept.ID) {
				t.Errorf("factors after %d: %v; want %s dropped and %s kept", status, ids, gone.ID, kept.ID)
			}
			if n := len(f.svc.messages()); n != 1 {
				t.Errorf("%d messages delivered, want 1", n)
			}
		})
	}
}

// The notifier itself reports ErrGone for the caller to act on.
func TestNotifierReportsGone(t *testing.T) {
	f := newFixture(t)
	dev := newPushDevice(t, "lost")
	sub, err := push.ParseSubscription(f.svc.add(dev))
	if err != nil {
		t.Fatal(err)
	}
	f.svc.status["lost"] = 410
	wp := &push.WebPush{Keys: f.keys, Subscriber: "atrium@localhost", Client: f.svc.srv.Client()}
	err = wp.Notify(context.Background(), sub, push.Notification{Payload: []byte("{}")})
	if !errors.Is(err, push.ErrGone) {
		t.Errorf("Notify to a 410 endpoint: %v, want ErrGone", err)
	}
	if strings.Contains(err.Error(), "/push/lost") {
		t.Errorf("error %q shows the endpoint's capability path", err)
	}
}

func TestParseSubscriptionRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	good := string(f.svc.add(newPushDevice(t, "x")))
	if _, err := push.ParseSubscription([]byte(good)); err != nil {
		t.Fatalf("a browser's subscription refused: %v", err)
	}
	endpoint := f.svc.srv.URL + "/push/x"
	for name, raw := range map[string]string{
		"not json":    "{",
		"empty":       "{}",
		"http":        strings.Replace(good, "https://", "http://", 1),
		"file scheme": strings.Replace(good, endpoint, "file:///etc/passwd", 1),
		"user info":   strings.Replace(good, "https://", "https://u:p@", 1),
		"short auth":  strings.Replace(good, `"auth":"`, `"auth":"AAAA`, 1),
		"bad key":     strings.Replace(good, `"p256dh":"`, `"p256dh":"!!`, 1),
	} {
		if _, err := push.ParseSubscription([]byte(raw)); err == nil {
			t.Errorf("%s: accepted %s", name, raw)
		}
	}
}

// The VAPID keys are made once and survive restarts: subscriptions are tied
// to them.
func TestVAPIDKeysPersist(t *testing.T) {
	f := newFixture(t)
	again, err := push.EnsureVAPID(context.Background(), f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.PublicKey() != f.keys.PublicKey() {
		t.Error("a second start made new VAPID keys")
	}
	if raw, err := f.dir.Secret(context.Background(), "push-vapid-key"); err != nil || len(raw) != 32 {
		t.Errorf("stored VAPID key: %d bytes, %v", len(raw), err)
	}
}

// BenchmarkStart measures one push approval being created and sent: the
// transaction and rate records in bbolt, RFC 8291 encryption, the VAPID
// signature and a TLS POST to a loopback push service (which decrypts).
func BenchmarkStart(b *testing.B) {
	f := newFixture(b)
	f.enroll(b, f.alice, "phone")
	ctx := context.Background()
	req := push.Request{UserID: f.alice.ID, App: "Grafana", IP: "192.0.2.7", UserAgent: firefoxLinux}
	for b.Loop() {
		if _, err := f.ap.Start(ctx, req); err != nil {
			b.Fatal(err)
		}
		f.clock.Advance(4 * time.Minute) // stay under 3 per 10 minutes
	}
}
