package ldif

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// generalizedTime spells t as LDAP GeneralizedTime in UTC, with as many
// fractional digits as it needs, so nanoseconds survive a round trip
// (slapadd keeps the fraction as given).
func generalizedTime(t time.Time) string {
	return t.UTC().Format("20060102150405.999999999Z")
}

// parseGeneralizedTime reads GeneralizedTime (RFC 4517 section 3.3.13):
// YYYYMMDDHH[MM[SS[(.|,)fraction]]] then Z or a +hhmm/-hhmm offset. A
// fraction is accepted after the seconds only.
func parseGeneralizedTime(s string) (time.Time, error) {
	bad := fmt.Errorf("%q is not a GeneralizedTime (like 20240131120000Z)", s)
	var body, zone string
	switch i := strings.IndexAny(s, "Z+-"); {
	case i < 0:
		return time.Time{}, bad
	default:
		body, zone = s[:i], s[i:]
	}
	frac := ""
	if i := strings.IndexAny(body, ".,"); i >= 0 {
		body, frac = body[:i], body[i+1:]
		if len(body) != 14 || frac == "" || len(frac) > 9 || strings.Trim(frac, "0123456789") != "" {
			return time.Time{}, bad
		}
	}
	if (len(body) != 10 && len(body) != 12 && len(body) != 14) || strings.Trim(body, "0123456789") != "" {
		return time.Time{}, bad
	}
	body += "0000"[:14-len(body)]
	loc := time.UTC
	switch {
	case zone == "Z":
	case len(zone) == 5 && strings.Trim(zone[1:], "0123456789") == "":
		h, _ := strconv.Atoi(zone[1:3])
		m, _ := strconv.Atoi(zone[3:5])
		if h > 23 || m > 59 {
			return time.Time{}, bad
		}
		off := h*3600 + m*60
		if zone[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	default:
		return time.Time{}, bad
	}
	t, err := time.ParseInLocation("20060102150405", body, loc)
	if err != nil {
		return time.Time{}, bad
	}
	if frac != "" {
		ns, _ := strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
		t = t.Add(time.Duration(ns))
	}
	return t.UTC(), nil
}

// days counts whole days since 1970-01-01, the unit of shadowLastChange and
// shadowExpire.
func days(t time.Time) int64 { return t.Unix() / 86400 }
