package push_test

import (
	"testing"

	"github.com/atrium-dir/atrium/push"
)

// A browser-supplied subscription is checked, never trusted: no input makes
// the parser panic, and whatever it accepts has an https endpoint.
func FuzzParseSubscription(f *testing.F) {
	f.Add([]byte(`{"endpoint":"https://push.example.com/x","keys":{"p256dh":"BAAA","auth":"AAAAAAAAAAAAAAAAAAAAAA"}}`))
	f.Add([]byte(`{"endpoint":"file:///etc/passwd"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		sub, err := push.ParseSubscription(raw)
		if err == nil && len(sub.Endpoint) < len("https://x") {
			t.Errorf("accepted endpoint %q", sub.Endpoint)
		}
	})
}

func FuzzDescribe(f *testing.F) {
	f.Add(firefoxLinux)
	f.Fuzz(func(t *testing.T, ua string) {
		if b, o := push.Describe(ua); b == "" || o == "" {
			t.Errorf("Describe(%q) = %q, %q", ua, b, o)
		}
	})
}
