package sim

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"
)

//go:embed scenarios/*.yaml
var embedded embed.FS

// ErrUnknownScenario is returned by Load for a name that is not embedded.
var ErrUnknownScenario = errors.New("unknown scenario")

// Names lists the embedded scenarios, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(embedded, "scenarios")
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Load parses the embedded scenario called name.
func Load(name string) (*Scenario, error) {
	if !slices.Contains(Names(), name) {
		return nil, fmt.Errorf("%w %q (embedded: %s)", ErrUnknownScenario, name, strings.Join(Names(), ", "))
	}
	data, err := embedded.ReadFile(path.Join("scenarios", name+".yaml"))
	if err != nil {
		return nil, err
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	return s, nil
}

// LoadFile parses the scenario file at path.
func LoadFile(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	return s, nil
}

// Parse decodes and validates a scenario in the YAML format described in
// scenarios/README.md. Unknown fields are rejected; errors wrap ErrInvalid and
// name the offending field.
func Parse(data []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f scenarioFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty document", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: want one YAML document, found more", ErrInvalid)
	}
	return validate(&f)
}
