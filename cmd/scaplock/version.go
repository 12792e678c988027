package main

import (
	"runtime"
	"runtime/debug"
)

// version and revision are set by the Makefile (-ldflags -X main.version=...).
var version, revision = "dev", ""

// versionLine is what --version prints.
func versionLine() string {
	rev := revision
	if info, ok := debug.ReadBuildInfo(); ok && rev == "" {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	return "scaplock " + version + " (revision " + rev + ", " + runtime.Version() + ")"
}
