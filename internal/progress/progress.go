package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Bar redraws one line in place. A nil *Bar does nothing, so a command
// calls it the same way on a terminal and off one.
type Bar struct {
	w           io.Writer
	now         func() time.Time
	label, unit string
	start       time.Time
	drawn       time.Time // last redraw, to redraw at most every interval
	done        int64
	frac        float64
}

// interval is how often a Bar redraws at most.
const interval = 100 * time.Millisecond

// ForTerminal returns a Bar drawing on f when f is a terminal, and nil
// (quiet) otherwise.
func ForTerminal(f *os.File, label, unit string) *Bar {
	if f == nil || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return New(f, time.Now, label, unit)
}

// New returns a Bar that draws on w with the clock now; unit names what
// is counted ("entries", "MB").
func New(w io.Writer, now func() time.Time, label, unit string) *Bar {
	return &Bar{w: w, now: now, label: label, unit: unit, start: now()}
}

// Update records done units finished, frac of the whole work (0 to 1),
// and redraws unless it did so less than interval ago.
func (b *Bar) Update(done int64, frac float64) {
	if b == nil {
		return
	}
	b.done, b.frac = done, frac
	if t := b.now(); t.Sub(b.drawn) >= interval {
		b.drawn = t
		fmt.Fprint(b.w, "\r"+Line(b.label, b.unit, done, frac, t.Sub(b.start))+"\x1b[K")
	}
}

// Complete marks the whole work done and ends the line.
func (b *Bar) Complete() {
	if b != nil {
		b.frac = 1
		b.Finish()
	}
}

// Finish draws the last state and ends the line.
func (b *Bar) Finish() {
	if b == nil {
		return
	}
	fmt.Fprint(b.w, "\r"+Line(b.label, b.unit, b.done, b.frac, b.now().Sub(b.start))+"\x1b[K\n")
}

// barWidth is the number of cells of the drawn bar.
const barWidth = 24

// Line is one progress line: the label, a bar, the percentage, the count,
// the rate per second and the time left at that rate.
func Line(label, unit string, done int64, frac float64, elapsed time.Duration) string {
	frac = min(max(frac, 0), 1)
	cells := int(frac * barWidth)
	bar := strings.Repeat("#", cells) + strings.Repeat("-", barWidth-cells)
	line := fmt.Sprintf("%s [%s] %3.0f%% %s %s", label, bar, frac*100, group(done), unit)
	if elapsed <= 0 {
		return line
	}
	line += fmt.Sprintf(", %s/s", group(int64(float64(done)/elapsed.Seconds())))
	if frac > 0 && frac < 1 {
		left := time.Duration(float64(elapsed) * (1 - frac) / frac)
		line += ", " + clock(left) + " left"
	} else if frac >= 1 {
		line += ", took " + clock(elapsed)
	}
	return line
}

// group writes n with thousands separators: 100,000.
func group(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// clock writes d as m:ss, or h:mm:ss from an hour on.
func clock(d time.Duration) string {
	s := int64(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
