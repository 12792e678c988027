package apiv1

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Day is the unit scaplock adds to Go's duration syntax.
const Day = 24 * time.Hour

// maxDays keeps days*24h within time.Duration.
const maxDays = int64(1<<63-1) / int64(Day)

// ParseDuration reads every duration scaplock takes, on the command line,
// in a request and in its settings: Go syntax (90s, 2h, 1h30m) or whole
// days (30d).
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil || days < 0 || days > maxDays {
			return 0, fmt.Errorf("%q is not a whole number of days (30d)", s)
		}
		return time.Duration(days) * Day, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (90s, 2h, 1h30m or whole days: 30d)", s)
	}
	return d, nil
}

// FormatDuration is d as scaplock writes it for people: whole days as
// 30d, else Go's syntax without trailing zero units (2h, 1h30m, 90s).
func FormatDuration(d time.Duration) string {
	if d != 0 && d%Day == 0 {
		return strconv.FormatInt(int64(d/Day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
