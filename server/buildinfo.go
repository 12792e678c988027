package server

import (
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// BuildInfo says which build is running: in --version and scaplock_build_info.
type BuildInfo struct {
	Version   string // from -ldflags (git describe), "dev" otherwise
	Revision  string // the VCS revision Go stamped in, "unknown" without one
	GoVersion string
}

// ReadBuildInfo completes version and revision (both from -ldflags, may
// be empty) with what the Go toolchain recorded.
func ReadBuildInfo(version, revision string) BuildInfo {
	b := BuildInfo{Version: version, Revision: revision, GoVersion: runtime.Version()}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Revision == "" {
		b.Revision = "unknown"
	}
	if info, ok := debug.ReadBuildInfo(); ok && revision == "" {
		dirty := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && b.Revision != "unknown" {
			b.Revision += "-dirty"
		}
	}
	return b
}

// String is the --version line.
func (b BuildInfo) String() string {
	return b.Version + " (revision " + b.Revision + ", " + b.GoVersion + ")"
}

func registerBuildInfo(reg prometheus.Registerer, b BuildInfo) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "scaplock_build_info",
		Help: "Always 1; the labels say which build of scaplockd is running.",
	}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	reg.MustRegister(g)
}
