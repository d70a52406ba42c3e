package totp

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// RFC 6238 appendix B, SHA1 rows, truncated to 6 digits.
func TestRFC6238Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		code string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		got, err := CodeAt(secret, Step(time.Unix(v.unix, 0)))
		if err != nil || got != v.code {
			t.Errorf("t=%d: %s, %v; want %s", v.unix, got, err, v.code)
		}
	}
}

func TestMatchSkewAndReplay(t *testing.T) {
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 12, 0, 10, 0, time.UTC)
	step := Step(now)
	for _, d := range []int64{-1, 0, 1} {
		code, _ := CodeAt(secret, step+d)
		got, ok := Match(secret, code, now, 0)
		if !ok || got != step+d {
			t.Errorf("skew %d: %d %v", d, got, ok)
		}
		if _, ok := Match(secret, code, now, step+d); ok {
			t.Errorf("skew %d: a spent step was accepted again", d)
		}
	}
	old, _ := CodeAt(secret, step-2)
	if _, ok := Match(secret, old, now, 0); ok {
		t.Error("a code two steps old was accepted")
	}
	if _, ok := Match(secret, "12345", now, 0); ok {
		t.Error("a short code was accepted")
	}
}

// oathtool computes codes independently of this package.
func TestAgainstOathtool(t *testing.T) {
	path := testenv.Tool(t, "oathtool", "oathtool")
	secret, _ := NewSecret()
	now := time.Now()
	out, err := exec.Command(path, "--totp", "-b", "--now", now.UTC().Format("2006-01-02 15:04:05 UTC"), EncodeSecret(secret)).Output()
	if err != nil {
		t.Fatal(err)
	}
	code := strings.TrimSpace(string(out))
	if step, ok := Match(secret, code, now, 0); !ok || step != Step(now) {
		t.Fatalf("oathtool code %s not matched at the current step", code)
	}
}

func TestURIAndQRCode(t *testing.T) {
	secret, _ := NewSecret()
	uri := URI("Atrium", "alice", secret)
	if !strings.HasPrefix(uri, "otpauth://totp/Atrium:alice?") || !strings.Contains(uri, "secret="+EncodeSecret(secret)) || !strings.Contains(uri, "issuer=Atrium") {
		t.Fatalf("uri = %s", uri)
	}
	png, err := QRCode(uri, 200)
	if err != nil || len(png) < 100 || string(png[1:4]) != "PNG" {
		t.Fatalf("QR code: %d bytes, %v", len(png), err)
	}
}
