package lock

import (
	"strings"
	"testing"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// The gate's cooldown hold refuses with who is being recovered from and
// the signal still above warn, in the first line.
func TestRefusalMessageRecovering(t *testing.T) {
	now := time.Date(2024, 5, 28, 12, 23, 12, 0, time.UTC)
	h := Hold{
		ID: "cooldown-eqiad", Scope: "eqiad", Kind: KindAuto, Owner: "scaplock",
		Reason:     "eqiad is recovering from alice's deploy 7f3a",
		Details:    []string{"CPU 97% (warn 80%) for 12s on kubemaster1001:6443", "readyz 700ms (warn 500ms) for 5s on kubemaster1002:6443"},
		Hint:       "clears when every signal is below warn, at the latest 12:33:00 UTC (cooldown_max 10m0s)",
		Recovering: &apiv1.DeployRef{ID: "7f3a9c01", Owner: "alice", EndedAt: now.Add(-12 * time.Second)},
		CreatedAt:  now.Add(-12 * time.Second),
	}
	v := Decide([]Hold{h}, []Scope{"eqiad"}, now)
	msg := RefusalMessage(v, "", now)
	for _, want := range []string{
		"scaplock: deploys to eqiad are refused: eqiad is recovering from alice's deploy 7f3a: CPU 97% (warn 80%) for 12s on kubemaster1001:6443\n",
		"  readyz 700ms (warn 500ms) for 5s on kubemaster1002:6443\n",
		"(hold cooldown-eqiad); clears when every signal is below warn, at the latest 12:33:00 UTC",
		"override (SRE): scaplock override --scope eqiad",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}
