package server_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The house: cmd -> server -> api, server/gate, migrations -> lock,
// health, web -> api/v1, with no arrow back up. Each package's imports
// within the module are checked against what it may import.
func TestImportsGoOneWay(t *testing.T) {
	const mod = "github.com/scaplock/scaplock/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, mod+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	// may lists, for each package, the module packages it may import.
	may := map[string][]string{
		"api/v1":           {},
		"api/token":        {},
		"lock":             {"api/v1", "lock/linear", "lock/tick"},
		"lock/linear":      {},
		"lock/tick":        {},
		"health":           {"api/v1"},
		"web":              {},
		"migrations":       {"lock", "api/v1"},
		"api":              {"api/v1", "api/token", "lock", "health"},
		"server/gate":      {"api/v1", "lock", "health"},
		"server/embedetcd": {"lock/tick"},
	}
	checked := 0
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], mod)
		allowed, ruled := may[pkg]
		if !ruled {
			continue
		}
		checked++
		for _, imp := range fields[1:] {
			dep, ours := strings.CutPrefix(imp, mod)
			if !ours {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || dep == a
			}
			if !ok {
				t.Errorf("%s imports %s: against the layering", pkg, dep)
			}
		}
	}
	if checked != len(may) {
		t.Errorf("checked %d packages, want %d: a package moved or go list changed", checked, len(may))
	}
}
