package ldif

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"time"
)

// generalizedTime spells t as LDAP GeneralizedTime in UTC, with as many
// fractional digits as it needs, so nanoseconds survive a round trip
// (slapadd keeps the fraction as given).
func generalizedTime(t time.Time) string {
	return string(appendGeneralizedTime(nil, t))
}

// appendGeneralizedTime appends generalizedTime(t) to b, for an export's
// two times per entry without time.Format's generality.
func appendGeneralizedTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, "20060102150405.999999999Z")
	}
	hour, minute, sec := t.Clock()
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10))
	for _, n := range [5]int{int(month), day, hour, minute, sec} {
		b = append(b, byte('0'+n/10), byte('0'+n%10))
	}
	if ns := t.Nanosecond(); ns != 0 {
		b = append(b, '.')
		digits := 9
		for ; ns%10 == 0; ns /= 10 {
			digits--
		}
		for i := digits - 1; i >= 0; i-- {
			b = append(b, byte('0'+ns/pow10[i]%10))
		}
	}
	return append(b, 'Z')
}

var pow10 = [9]int{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// ParseGeneralizedTime reads LDAP GeneralizedTime (RFC 4517 section
// 3.3.13), for LDIF import and for the LDAP server's filters alike:
// YYYYMMDDHH[MM[SS]], then an optional fraction (after "." or ",") of the
// last unit given, then Z or an offset +hh, +hhmm, -hh or -hhmm. The
// result is in UTC.
//
// It is exactly as strict as the RFC's grammar: no surrounding spaces, and
// a refused string is an error (for a filter: Undefined), never a guess. The
// one exception is the leap second 60, which Go's time cannot hold; it is
// refused. Fraction digits past a nanosecond are dropped.
func ParseGeneralizedTime(s string) (time.Time, error) {
	t, err := parseGeneralizedTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a GeneralizedTime (like 20240131120000Z): %w", s, err)
	}
	return t, nil
}

func parseGeneralizedTime(s string) (time.Time, error) {
	n := leadingDigits(s)
	unit, ok := map[int]time.Duration{10: time.Hour, 12: time.Minute, 14: time.Second}[n]
	if !ok {
		return time.Time{}, errors.New("it must start with 10, 12 or 14 digits (date, hour, minutes, seconds)")
	}
	body, rest := s[:n], s[n:]
	var frac time.Duration
	if rest != "" && (rest[0] == '.' || rest[0] == ',') {
		k := leadingDigits(rest[1:])
		if k == 0 {
			return time.Time{}, errors.New("its fraction has no digits")
		}
		frac = fraction(rest[1:1+k], unit)
		rest = rest[1+k:]
	}
	loc, err := timeZone(rest)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.ParseInLocation("20060102150405", body+"0000"[:14-n], loc)
	if err != nil {
		return time.Time{}, errors.New("no such date or time")
	}
	return t.Add(frac).UTC(), nil
}

// leadingDigits counts the ASCII digits at the start of s.
func leadingDigits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// fraction is the decimal fraction 0.digits of unit, truncated to a
// nanosecond. Eighteen digits are finer than a nanosecond of an hour.
func fraction(digits string, unit time.Duration) time.Duration {
	digits = digits[:min(len(digits), 18)]
	num, _ := strconv.ParseUint(digits, 10, 64)
	den := uint64(1)
	for range digits {
		den *= 10
	}
	// unit*num/den without overflow; the quotient is below unit.
	hi, lo := bits.Mul64(uint64(unit), num)
	q, _ := bits.Div64(hi, lo, den)
	return time.Duration(q)
}

// timeZone reads the g-time-zone at the end of a GeneralizedTime.
func timeZone(z string) (*time.Location, error) {
	if z == "Z" {
		return time.UTC, nil
	}
	if (len(z) != 3 && len(z) != 5) || (z[0] != '+' && z[0] != '-') || leadingDigits(z[1:]) != len(z)-1 {
		return nil, errors.New("it must end in Z or an offset like +0200")
	}
	h, _ := strconv.Atoi(z[1:3])
	m := 0
	if len(z) == 5 {
		m, _ = strconv.Atoi(z[3:5])
	}
	if h > 23 || m > 59 {
		return nil, errors.New("its offset is out of range")
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	return time.FixedZone("", off), nil
}

// days counts whole days since 1970-01-01, the unit of shadowLastChange and
// shadowExpire.
func days(t time.Time) int64 { return t.Unix() / 86400 }
