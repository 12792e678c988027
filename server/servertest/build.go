package servertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Scaplockd and Scaplock are the import paths of the two commands.
const (
	Scaplockd = "github.com/scaplock/scaplock/cmd/scaplockd"
	Scaplock  = "github.com/scaplock/scaplock/cmd/scaplock"
)

// GoBuild builds the command pkg (an import path) to bin with go build and
// any extra flags; the error carries go's output.
func GoBuild(ctx context.Context, bin, pkg string, flags ...string) error {
	args := append(append([]string{"build"}, flags...), "-o", bin, pkg)
	if out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v: %s", pkg, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Build builds the command pkg into the test's temporary directory and
// returns its path; it fails the test when the build does.
func Build(t testing.TB, pkg string, flags ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	if err := GoBuild(context.Background(), bin, pkg, flags...); err != nil {
		t.Fatal(err)
	}
	return bin
}

var (
	builtMu sync.Mutex
	built   = map[string]string{} // pkg and flags -> binary
)

// BuildOnce builds the command pkg once per test process (per set of
// flags) and returns its path, for packages whose tests all run the same
// binary. The binary stays in a temporary directory until the machine
// cleans it.
func BuildOnce(pkg string, flags ...string) (string, error) {
	key := pkg + "\x00" + strings.Join(flags, "\x00")
	builtMu.Lock()
	defer builtMu.Unlock()
	if bin, ok := built[key]; ok {
		return bin, nil
	}
	dir, err := os.MkdirTemp("", "scaplock-test-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	if err := GoBuild(context.Background(), bin, pkg, flags...); err != nil {
		return "", err
	}
	built[key] = bin
	return bin, nil
}

// RemoveBuilt deletes what BuildOnce built; a TestMain calls it after m.Run.
func RemoveBuilt() {
	builtMu.Lock()
	defer builtMu.Unlock()
	for key, bin := range built {
		os.RemoveAll(filepath.Dir(bin))
		delete(built, key)
	}
}
