package health

import (
	"errors"
	"os"
	"strings"
	"testing"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// FuzzClustersFile: whatever the file, ParseConfig either refuses it with
// ErrInvalidConfig and a message, or returns clusters the gate can run:
// each a valid scope name other than global, with apiservers, a positive
// interval and timeout, and warn at most crit for every signal.
func FuzzClustersFile(f *testing.F) {
	if data, err := os.ReadFile("testdata/clusters.yaml"); err == nil {
		f.Add(data)
	}
	for _, seed := range []string{
		"",
		"clusters: []\n",
		"interval: 0s\nclusters:\n  - name: eqiad\n    apiservers:\n      - url: https://a:6443\n",
		"clusters:\n  - name: global\n    apiservers:\n      - url: https://a:6443\n",
		"clusters:\n  - name: Eqiad\n    apiservers:\n      - url: https://a:6443\n",
		"clusters:\n  - name: eqiad\n    apiservers:\n      - url: https://a:6443\n    thresholds:\n      cpu: {warn: 0.95, crit: 0.9}\n",
		"clusters:\n  - name: eqiad\n    apiservers:\n      - url: 'ftp://a'\n",
		"clusters:\n  - name: eqiad\n    apiservers:\n      - url: https://a:6443\n    colour: red\n",
		"a: &a [*a]\n",
		"---\n---\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) || strings.TrimSpace(err.Error()) == "" {
				t.Fatalf("refusal without ErrInvalidConfig or a message: %v", err)
			}
			return
		}
		if c.Interval <= 0 || len(c.Clusters) == 0 {
			t.Fatalf("accepted interval %s with %d clusters", c.Interval, len(c.Clusters))
		}
		for _, cl := range c.Clusters {
			if !apiv1.ValidScopeName(cl.Name) || cl.Name == string(apiv1.Global) {
				t.Fatalf("accepted cluster name %q", cl.Name)
			}
			if len(cl.APIServers) == 0 || cl.Timeout <= 0 {
				t.Fatalf("accepted cluster %s with %d apiservers, timeout %s", cl.Name, len(cl.APIServers), cl.Timeout)
			}
			for _, s := range Signals {
				if l := cl.Thresholds.For(s); l.Warn > l.Crit {
					t.Fatalf("accepted %s %s warn %v above crit %v", cl.Name, s, l.Warn, l.Crit)
				}
			}
		}
	})
}
