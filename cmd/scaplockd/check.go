package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/scaplock/scaplock/server"
)

// checkConfig validates the configuration as start-up would and starts
// nothing: for a config-management tool's validate_cmd before a restart.
//
// --env-file reads a systemd EnvironmentFile (the one to be installed) under
// the process's environment, which wins: so a clusters file can be checked
// with SCAPLOCK_CLUSTERS_FILE=<candidate> against the installed env file.
func checkConfig(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scaplockd check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	envFile := fs.String("env-file", "", "also read variables from this `file` (KEY=value lines, as systemd's EnvironmentFile); the environment wins")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scaplockd: check-config takes no arguments, got %q\n", fs.Args())
		return exitConfig
	}
	env := map[string]string{}
	if *envFile != "" {
		vars, err := readEnvFile(*envFile)
		if err != nil {
			printConfigErrors(stderr, err)
			return exitConfig
		}
		env = vars
	}
	for k, v := range server.Environ() {
		env[k] = v
	}
	cfg, err := server.LoadConfig(context.Background(), env)
	if err != nil {
		printConfigErrors(stderr, err)
		return exitConfig
	}
	store := "embedded single-node etcd in " + cfg.DataDir
	switch {
	case len(cfg.EtcdEndpoints) > 0:
		store = "external etcd " + strings.Join(cfg.EtcdEndpoints, ",")
	case cfg.EtcdInitialCluster != "":
		store = "embedded etcd member " + cfg.ReplicaName + " of " + cfg.EtcdInitialCluster
	}
	gate := "off (no SCAPLOCK_CLUSTERS_FILE)"
	if cfg.ClustersFile != "" {
		hc, _ := server.LoadClusters(cfg)
		gate = fmt.Sprintf("%s, %d clusters from %s", hc.Mode, len(hc.Clusters), cfg.ClustersFile)
	}
	fmt.Fprintf(stdout, "scaplockd: configuration ok\n  store: %s (prefix %s)\n  gate:  %s\n", store, cfg.EtcdPrefix, gate)
	return 0
}

// printConfigErrors writes one line per problem, the same at start-up and
// in check-config.
func printConfigErrors(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(w, "scaplockd: invalid configuration:", line)
	}
}

// readEnvFile reads KEY=value lines as systemd's EnvironmentFile does for
// the simple cases: comments (# or ;), blank lines, optional quotes.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--env-file: %w", err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--env-file: %s:%d: not KEY=value: %q", path, n, line)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vars[strings.TrimSpace(k)] = v
	}
	return vars, sc.Err()
}
