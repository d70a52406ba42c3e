package logsafe

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestClip(t *testing.T) {
	if got := Clip("uid=alice"); got != "uid=alice" {
		t.Errorf("short value changed: %q", got)
	}
	long := "x" + strings.Repeat("é", 30_000) + "y" // 60,002 bytes
	got := Clip(long)
	head, tail, ok := strings.Cut(got, "…(60002 bytes)…")
	if !ok || len(got) > MaxValue+24 || !strings.HasPrefix(long, head) || !strings.HasSuffix(long, tail) || !strings.HasPrefix(head, "xé") || !strings.HasSuffix(tail, "éy") {
		t.Errorf("Clip of 60 KB = %q", got)
	}
}

func TestLimitWarnings(t *testing.T) {
	var out bytes.Buffer
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	log := slog.New(LimitWarnings(slog.NewTextHandler(&out, nil), func() time.Time { return now })).With("component", "ldap")
	for range 1000 {
		log.Warn("replay refused", "id", "x")
		log.Info("bind")
	}
	if n := strings.Count(out.String(), "replay refused"); n != Burst {
		t.Errorf("%d warnings written in one interval, want %d", n, Burst)
	}
	if n := strings.Count(out.String(), "msg=bind"); n != 1000 {
		t.Errorf("%d info lines written, want all 1000", n)
	}
	log.Warn("another warning")
	if !strings.Contains(out.String(), "another warning") {
		t.Error("a second message was held back by the first's limit")
	}
	now = now.Add(Interval)
	out.Reset()
	log.Warn("replay refused", "id", "x")
	if !strings.Contains(out.String(), "suppressed=995") {
		t.Errorf("first warning of the next interval: %q, want suppressed=995", out.String())
	}
}
