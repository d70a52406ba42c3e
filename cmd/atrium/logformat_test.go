package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeLogFormatJSON: with --log-format json every line the server
// logs, from first start to shutdown, is one JSON object.
func TestServeLogFormatJSON(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, data, testEnv(), nil, "--log-format", "json")
	srv.stop(t)
	lines := strings.Split(strings.TrimSpace(srv.log.String()), "\n")
	if len(lines) < 3 {
		t.Fatalf("only %d log lines:\n%s", len(lines), srv.log)
	}
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON (%v): %s", err, line)
		}
		if rec["level"] == nil || rec["msg"] == nil || rec["time"] == nil {
			t.Errorf("log record lacks time, level or msg: %s", line)
		}
	}
}

// TestServeLoggerLimitsRepeatedWarnings: in either format, a warning
// repeated a thousand times is written a few times, info lines all.
func TestServeLoggerLimitsRepeatedWarnings(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var out strings.Builder
		log := newLogger(format, &out)
		for range 1000 {
			log.Warn("replay refused")
			log.Info("login")
		}
		if n := strings.Count(out.String(), "replay refused"); n > 5 {
			t.Errorf("%s: the repeated warning was written %d times", format, n)
		}
		if n := strings.Count(out.String(), "login"); n != 1000 {
			t.Errorf("%s: %d of 1000 info lines written", format, n)
		}
	}
}
