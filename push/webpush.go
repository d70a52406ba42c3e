package push

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// WebPush is the built-in Notifier: RFC 8030 delivery of an RFC 8291
// encrypted message, authenticated with VAPID (RFC 8292).
type WebPush struct {
	Keys VAPID
	// Subscriber is the VAPID "sub" contact: an https URL (the external
	// URL) or a bare e-mail address.
	Subscriber string
	// Client sends the requests; nil uses defaultClient.
	Client *http.Client
}

// defaultClient gives up after 10 s and follows no redirect: the endpoint
// comes from a browser, and a redirect could point the server elsewhere.
var defaultClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

var _ Notifier = (*WebPush)(nil)

// Subscriber returns the VAPID contact for an external URL: the URL itself
// when it is https, else a mail address at its host (push services want a
// way to reach the operator, and reject a plain-http URL).
func Subscriber(externalURL string) string {
	if strings.HasPrefix(externalURL, "https://") {
		return externalURL
	}
	host := strings.TrimPrefix(externalURL, "http://")
	host, _, _ = strings.Cut(host, "/")
	host, _, _ = strings.Cut(host, ":")
	if host == "" {
		host = "localhost"
	}
	return "atrium@" + host
}

// RecordSize is 2048 because Firefox for Android rejects 4096-byte records.
const recordSize = 2048

// Notify sends n with urgency high and a 60 s TTL: a sign-in prompt that
// arrives later than its transaction is useless.
func (wp *WebPush) Notify(ctx context.Context, sub Subscription, n Notification) error {
	client := wp.Client
	if client == nil {
		client = defaultClient
	}
	s := &webpush.Subscription{Endpoint: sub.Endpoint, Keys: webpush.Keys{P256dh: sub.Keys.P256dh, Auth: sub.Keys.Auth}}
	resp, err := webpush.SendNotificationWithContext(ctx, n.Payload, s, &webpush.Options{
		HTTPClient:      client,
		RecordSize:      recordSize,
		Subscriber:      wp.Subscriber,
		Topic:           n.Topic,
		TTL:             int(txLifetime.Seconds()),
		Urgency:         webpush.UrgencyHigh,
		VAPIDPublicKey:  wp.Keys.PublicKey(),
		VAPIDPrivateKey: wp.Keys.privateKey(),
	})
	if err != nil {
		return fmt.Errorf("web push to %s: %w", endpointHost(sub.Endpoint), err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return fmt.Errorf("web push to %s: %s: %w", endpointHost(sub.Endpoint), resp.Status, ErrGone)
	case resp.StatusCode/100 != 2:
		return fmt.Errorf("web push to %s: %s", endpointHost(sub.Endpoint), resp.Status)
	}
	return nil
}

// endpointHost names a push service in errors without the endpoint's path,
// which is the device's capability token.
func endpointHost(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "invalid endpoint"
	}
	return u.Host
}

// decodeKey accepts the base64 flavours browsers and libraries produce.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}
