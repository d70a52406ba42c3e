package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
)

// A Notifier delivers one notification to one device. Web Push is the
// built-in one; ntfy and UnifiedPush distributors speak the same protocol.
type Notifier interface {
	// Notify sends n to the device subscribed as sub. ErrGone means the
	// subscription no longer exists and the caller should drop it.
	Notify(ctx context.Context, sub Subscription, n Notification) error
}

// ErrGone is returned by a Notifier when the push service no longer knows
// the subscription (HTTP 404 or 410).
var ErrGone = errors.New("push subscription gone")

// Notification is what a device is told about a sign-in.
type Notification struct {
	// Topic collapses undelivered notifications of the same user into the
	// newest one; at most 32 URL-safe base64 characters.
	Topic string
	// Payload is the JSON the service worker receives (a Message).
	Payload []byte
}

// Message is the notification payload. It never holds the number: the
// phone must learn it from the person at the login screen.
type Message struct {
	Tx      string `json:"tx"`
	App     string `json:"app"`
	Browser string `json:"browser"`
	OS      string `json:"os"`
	IP      string `json:"ip"`
}

// Subscription is a browser's PushSubscription as its toJSON() gives it.
// It is the secret of a "push" factor.
type Subscription struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// ParseSubscription decodes and checks a PushSubscription. The endpoint
// must be https: the server posts to it, so it must not reach plain-text or
// odd-scheme services.
func ParseSubscription(raw []byte) (Subscription, error) {
	var s Subscription
	if err := json.Unmarshal(raw, &s); err != nil {
		return Subscription{}, fmt.Errorf("push subscription is not JSON: %w", err)
	}
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return Subscription{}, errors.New("push subscription endpoint must be an https URL")
	}
	if p, err := decodeKey(s.Keys.P256dh); err != nil || len(p) != 65 || p[0] != 4 {
		return Subscription{}, errors.New("push subscription p256dh is not an uncompressed P-256 point")
	}
	if a, err := decodeKey(s.Keys.Auth); err != nil || len(a) != 16 {
		return Subscription{}, errors.New("push subscription auth secret must be 16 bytes")
	}
	return s, nil
}
