package servertest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
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
