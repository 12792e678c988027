package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/scaplock/scaplock/server"
)

// checkConfig validates the configuration as start-up would and starts
// nothing: for a config-management tool's validate_cmd before a restart.
func checkConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "scaplockd: check-config takes no arguments, got %q\n", args)
		return exitConfig
	}
	cfg, err := server.LoadConfig(context.Background(), nil)
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
