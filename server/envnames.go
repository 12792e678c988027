package server

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
)

// Variables are the SCAPLOCK_* names scaplockd reads, in Config's order,
// read from its env tags so that the list cannot drift from what is parsed.
func Variables() []string {
	var names []string
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if name := variableOf(t.Field(i)); name != "" {
			names = append(names, name)
		}
	}
	return names
}

func variableOf(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	return strings.TrimSpace(name)
}

// suiteVariables are the SCAPLOCK_* names the rest of the suite reads: the
// scaplock CLI and its scap bridge, the scap hook, and the test and
// benchmark harnesses. They share env files and shells with scaplockd
// (an SRE exports SCAPLOCK_URL and runs check-config), so scaplockd lets
// them pass silently; TestSuiteVariablesAreRead keeps the list honest.
var suiteVariables = []string{
	"SCAPLOCK_URL", "SCAPLOCK_TOKEN", "SCAPLOCK_TOKEN_FILE", "SCAPLOCK_CONFIG",
	"SCAPLOCK_BRIDGE_SCOPES", "SCAPLOCK_BRIDGE_LOCK_FILE", "SCAPLOCK_BRIDGE_UNLOCK_SIGNAL_FILE",
	"SCAPLOCK_BRIDGE_UNLOCK_ACK_FILE", "SCAPLOCK_BRIDGE_UNREACHABLE_GRACE", "SCAPLOCK_BRIDGE_ON_UNREACHABLE",
	"SCAPLOCK_BRIDGE_LISTEN", "SCAPLOCK_BRIDGE_POLL_INTERVAL", "SCAPLOCK_BRIDGE_HOST",
	"SCAPLOCK_ROLLBACK",
	"SCAPLOCK_E2E_KUBE_APISERVER", "SCAPLOCK_E2E_LOAD", "SCAPLOCK_INSTALL_TEST_PORT",
	"SCAPLOCK_SCREENSHOT", "SCAPLOCK_BENCH_CPUPROFILE",
}

// unknownVariables names every SCAPLOCK_* variable in env that neither
// scaplockd nor the rest of the suite reads, with the nearest name that
// one of them does read (a misspelt setting would otherwise leave its
// default in force while check-config says "ok"), or, for a setting that
// was removed, what to do instead.
func unknownVariables(env map[string]string) []error {
	daemon := Variables()
	var errs []error
	for _, name := range sortedKeys(env) {
		if !strings.HasPrefix(name, "SCAPLOCK_") || slices.Contains(daemon, name) || slices.Contains(suiteVariables, name) {
			continue
		}
		if why, removed := removedSettings[name]; removed {
			errs = append(errs, fmt.Errorf("%s: %s", name, why))
			continue
		}
		near, d := nearest(name, daemon)
		cli, dc := nearest(name, suiteVariables)
		switch {
		case min(d, dc) > maxSuggestDistance:
			errs = append(errs, fmt.Errorf("%s: not a scaplockd setting (README.md lists them)", name))
		case dc < d:
			errs = append(errs, fmt.Errorf("%s: not a scaplockd setting; did you mean %s (read by the scaplock CLI, not by scaplockd)?", name, cli))
		default:
			errs = append(errs, fmt.Errorf("%s: not a scaplockd setting; did you mean %s?", name, near))
		}
	}
	return errs
}

// maxSuggestDistance keeps "did you mean" to typos: past three edits the
// nearest name is a guess, not a correction.
const maxSuggestDistance = 3

// nearest is the name in names with the least edit distance to s.
func nearest(s string, names []string) (string, int) {
	best, bestD := "", -1
	for _, n := range names {
		if d := editDistance(s, n); bestD < 0 || d < bestD {
			best, bestD = n, d
		}
	}
	return best, bestD
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Environ is the process environment as a map, for LoadConfig.
func Environ() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// SuiteVariables are the names scaplockd accepts because another part of
// the suite reads them.
func SuiteVariables() []string { return slices.Clone(suiteVariables) }
