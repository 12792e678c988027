package main

import (
	"flag"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// parseDuration and formatDuration are the suite's (apiv1): Go syntax
// or whole days (30d).
var (
	parseDuration  = apiv1.ParseDuration
	formatDuration = apiv1.FormatDuration
)

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
