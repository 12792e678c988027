package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The CLI runs on every deploy host: it links the wire contract (api/v1),
// token minting (api/token) and its HTTP client, never the server's etcd,
// gRPC, router or metrics code.
func TestCLILinksNoServerCode(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	forbidden := []string{
		"go.etcd.io/", "google.golang.org/grpc", "github.com/go-chi/", "github.com/prometheus/",
		"github.com/scaplock/scaplock/lock", "github.com/scaplock/scaplock/server",
		"github.com/scaplock/scaplock/health", "github.com/scaplock/scaplock/migrations",
		"github.com/scaplock/scaplock/web",
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed %d packages, expected the standard library at least: %q", len(deps), out)
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) || d == "github.com/scaplock/scaplock/api" {
				t.Errorf("the CLI depends on %s", d)
			}
		}
	}
}
