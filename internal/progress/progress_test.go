package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestLine(t *testing.T) {
	for _, c := range []struct {
		done    int64
		frac    float64
		elapsed time.Duration
		want    string
	}{
		{0, 0, 0, "import [------------------------]   0% 0 entries"},
		{41_234, 0.25, 4 * time.Second, "import [######------------------]  25% 41,234 entries, 10,308/s, 0:12 left"},
		{1_234_567, 0.5, 2 * time.Hour, "import [############------------]  50% 1,234,567 entries, 171/s, 2:00:00 left"},
		{100_000, 1, 9500 * time.Millisecond, "import [########################] 100% 100,000 entries, 10,526/s, took 0:10"},
	} {
		if got := Line("import", "entries", c.done, c.frac, c.elapsed); got != c.want {
			t.Errorf("Line(%d, %v, %v)\n got %q\nwant %q", c.done, c.frac, c.elapsed, got, c.want)
		}
	}
}

// TestBarRedrawsAtMostTenTimesASecond drives a Bar with an injected clock.
func TestBarRedrawsAtMostTenTimesASecond(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	b := New(&out, func() time.Time { return now }, "export", "entries")
	for i := range 1000 {
		now = now.Add(time.Millisecond)
		b.Update(int64(i+1), float64(i+1)/1000)
	}
	b.Finish()
	lines := strings.Split(out.String(), "\r")[1:]
	if len(lines) != 11 { // ten redraws in one second, and the last line
		t.Fatalf("%d lines drawn:\n%q", len(lines), out.String())
	}
	if last := lines[len(lines)-1]; last != "export [########################] 100% 1,000 entries, 1,000/s, took 0:01\x1b[K\n" {
		t.Errorf("last line %q", last)
	}
}

// TestQuietOffATerminal: on a file or a pipe there is no Bar, and a nil
// Bar draws nothing.
func TestQuietOffATerminal(t *testing.T) {
	f, err := os.Create(t.TempDir() + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := ForTerminal(f, "backup", "MB")
	if b != nil {
		t.Fatal("a Bar for a file")
	}
	b.Update(1, 0.5)
	b.Finish()
	b.Complete()
	if info, _ := f.Stat(); info.Size() != 0 {
		t.Fatalf("%d bytes written off a terminal", info.Size())
	}
}
