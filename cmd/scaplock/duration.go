package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// day is the unit the CLI adds to Go's duration syntax.
const day = 24 * time.Hour

// parseDuration reads every duration the CLI takes: Go syntax (90s, 2h,
// 1h30m) or whole days (30d), as the service reads report's --since.
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > int(maxDays) {
			return 0, fmt.Errorf("%q is not a whole number of days (30d)", s)
		}
		return time.Duration(days) * day, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (90s, 2h, 1h30m or whole days: 30d)", s)
	}
	return d, nil
}

// maxDays keeps days*24h within time.Duration.
const maxDays = int64(1<<63-1) / int64(day)

// formatDuration is d as the CLI prints it: whole days as 30d, else Go's
// syntax without trailing zero units (2h, 1h30m, 90s).
func formatDuration(d time.Duration) string {
	if d != 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
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

// durationFlag is a flag.Value for every duration flag, read by
// parseDuration.
type durationFlag struct{ d *time.Duration }

// durationOpt registers a duration flag on fs, as fs.Duration does but
// read by parseDuration, so that every flag takes days.
func durationOpt(fs *flag.FlagSet, name string, value time.Duration, usage string) *time.Duration {
	p := new(time.Duration)
	*p = value
	fs.Var(durationFlag{p}, name, usage)
	return p
}

func (f durationFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return ""
	}
	return formatDuration(*f.d)
}

func (f durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}
