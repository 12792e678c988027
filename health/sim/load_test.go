package sim

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestEmbeddedScenariosLoad(t *testing.T) {
	names := Names()
	for _, want := range []string{"flapping", "healthy", "incident-2024-05-28"} {
		if !slices.Contains(names, want) {
			t.Errorf("Names() = %v, missing %q", names, want)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			s, err := Load(name)
			if err != nil {
				t.Fatalf("Load(%q): %v", name, err)
			}
			if s.Name() != name {
				t.Errorf("Name() = %q, want the file name %q", s.Name(), name)
			}
			if len(s.Hosts()) == 0 || len(s.Deploys()) < 3 {
				t.Errorf("hosts %v, %d deploys; want hosts and several deploys", s.Hosts(), len(s.Deploys()))
			}
			if s.Description() == "" {
				t.Error("Description() is empty")
			}
		})
	}
}

func TestLoadUnknown(t *testing.T) {
	_, err := Load("no-such-scenario")
	if !errors.Is(err, ErrUnknownScenario) {
		t.Fatalf("Load(unknown) = %v, want ErrUnknownScenario", err)
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.yaml")
	if err := os.WriteFile(path, []byte(minimalScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadFile(path)
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	if s.Duration() != 10*time.Minute || s.Compression() != 1 {
		t.Errorf("duration %v compression %v, want 10m and the default 1", s.Duration(), s.Compression())
	}
	if got := s.Start(); !got.Equal(defaultStart) {
		t.Errorf("Start() = %v, want the default %v", got, defaultStart)
	}
	if _, err := LoadFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("LoadFile(missing) succeeded")
	}
}

func TestIncidentStart(t *testing.T) {
	s := mustLoad(t, "incident-2024-05-28")
	want := time.Date(2024, 5, 28, 12, 0, 0, 0, time.UTC)
	if !s.Start().Equal(want) {
		t.Errorf("Start() = %v, want %v", s.Start(), want)
	}
	if s.Duration() < 4*time.Hour {
		t.Errorf("Duration() = %v, want about 5h", s.Duration())
	}
}

const minimalScenario = `
name: tiny
duration: 10m
hosts:
  - {name: a, cores: 2, link_speed_bytes: 1e9}
baseline: {cpu: 0.5, retransmits: 10, nic_bytes_per_s: 1e6, readyz_latency: 20ms}
`

func mustLoad(t *testing.T, name string) *Scenario {
	t.Helper()
	s, err := Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
