package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// cliHookRuns is how many times each command runs, alternating.
const cliHookRuns = 100

// cliHook times `scaplock preflight --scope eqiad` from exec to exit, as a
// helmfile presync hook runs it, beside a bare `curl` of the same URL,
// alternating in one run against one scaplockd (its own process, embedded
// etcd) on loopback.
func cliHook(ctx context.Context, dir string) []Row {
	const figure = "CLI as a hook"
	curl, err := exec.LookPath("curl")
	if err != nil {
		return []Row{failed(figure, fmt.Errorf("curl not found (make deps installs it): %w", err))}
	}
	bin := filepath.Join(dir, "scaplock")
	// Built as `make build` builds it.
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/scaplock")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return []Row{failed(figure, fmt.Errorf("go build: %v: %s", err, out))}
	}
	d, err := startChild(ctx, "scaplockd", map[string]string{"SCAPLOCK_DATA_DIR": filepath.Join(dir, "data"), "SCAPLOCK_SCOPES": "eqiad"})
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer d.stop()
	url := d.url + "/api/v1/preflight?scope=eqiad"
	cli := exec.Command(bin, "preflight", "--scope", "eqiad")
	// No configuration file: the URL from the environment, as in a hook.
	cli.Env = append(os.Environ(), "SCAPLOCK_URL="+d.url, "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	bare := exec.Command(curl, "-sS", "-o", "/dev/null", "--fail", url)
	var cliTimes, curlTimes []time.Duration
	for i := range 2*cliHookRuns + 10 {
		c := cli
		if i%2 == 1 {
			c = bare
		}
		took, err := timeExec(ctx, c)
		if err != nil {
			return []Row{failed(figure, fmt.Errorf("%s: %w", c.Path, err))}
		}
		if i < 10 {
			continue // warm the page cache and the service
		}
		if c == cli {
			cliTimes = append(cliTimes, took)
		} else {
			curlTimes = append(curlTimes, took)
		}
	}
	r50 := float64(median(cliTimes)) / float64(median(curlTimes))
	r99 := float64(percentile(cliTimes, 99)) / float64(percentile(curlTimes, 99))
	return []Row{
		info("baseline: curl -sS -o /dev/null --fail of the preflight URL, exec to exit, loopback", fmt.Sprintf("p50 %s, p99 %s (n=%d)", fmtDur(median(curlTimes)), fmtDur(percentile(curlTimes, 99)), len(curlTimes))),
		info("scaplock preflight --scope eqiad, exec to exit, alternating with curl", fmt.Sprintf("p50 %s, p99 %s (n=%d)", fmtDur(median(cliTimes)), fmtDur(percentile(cliTimes, 99)), len(cliTimes))),
		check("scaplock preflight vs curl, p50 / p99", fmt.Sprintf("%.2f× / %.2f×", r50, r99), "≤ 1.0× / ≤ 1.0×", r50 <= 1 && r99 <= 1),
	}
}

// timeExec runs a copy of c to its exit and times it; exit 0 is required
// (preflight allowed, curl's 200).
func timeExec(ctx context.Context, c *exec.Cmd) (time.Duration, error) {
	run := exec.CommandContext(ctx, c.Path, c.Args[1:]...)
	run.Env = c.Env
	start := time.Now()
	out, err := run.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	return took, nil
}
