package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// cliMaxBytes is the size the deploy hosts' CLI must stay under, stripped.
const cliMaxBytes = 10 << 20

// cliSize builds cmd/scaplock as `make build` does, stripped, and counts
// the packages it links.
func cliSize(ctx context.Context, dir string) []Row {
	const figure = "scaplock CLI binary, stripped (-s -w)"
	bin := filepath.Join(dir, "scaplock")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/scaplock")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return []Row{failed(figure, fmt.Errorf("go build: %v: %s", err, out))}
	}
	st, err := os.Stat(bin)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	deps, err := exec.CommandContext(ctx, "go", "list", "-deps", "./cmd/scaplock").Output()
	if err != nil {
		return []Row{failed(figure, err)}
	}
	n := len(strings.Fields(string(deps)))
	return []Row{
		check(figure, fmt.Sprintf("%.1f MB", float64(st.Size())/(1<<20)), "≤ 10 MB (was 22 MB)", st.Size() <= cliMaxBytes),
		info("scaplock CLI packages linked (go list -deps)", fmt.Sprint(n)),
	}
}
