package replay_test

import (
	"strings"
	"testing"
	"time"

	"github.com/scaplock/scaplock/health"
	"github.com/scaplock/scaplock/lock/locktest"
)

// creepWeek is a week of the creep-3-months scenario.
const creepWeek = 10 * time.Minute

// Replayed through the real gate, every deploy of creep-3-months records
// its impact, and the report, read as it would have been at the end of
// each week, flags the creep at least two weeks before the first harmful
// burst (the first deploy that fails). From week 7 readyz passes warn in
// each burst: the flag names readyz, whose run above warn is a sample
// longer than CPU's (a probe reads readyz at once, CPU is a counter's rate
// over the interval, which a burst's edges dilute).
func TestCreepReportFlagsBeforeTheFirstFailedDeploy(t *testing.T) {
	e := locktest.StartEtcd(t, "")
	res := play(t, e, "creep-3-months", 0)
	if len(res.Impacts) != len(res.Deploys)-res.RefusedHealthy()-res.RefusedDegraded() {
		t.Errorf("%d impacts recorded for %d deploys (%d refused)", len(res.Impacts), len(res.Deploys), res.RefusedHealthy()+res.RefusedDegraded())
	}
	firstHarm := time.Duration(-1)
	for _, b := range res.Bursts {
		if b.Harmful {
			firstHarm = b.From
			break
		}
	}
	if firstHarm < 0 {
		t.Fatal("creep-3-months has no harmful burst")
	}
	since := res.Impacts[0].From.Truncate(creepWeek)
	flagged := time.Duration(-1)
	for week := 1; week <= 13; week++ {
		until := since.Add(time.Duration(week) * creepWeek)
		r := health.Trend(res.Impacts, since, until, creepWeek, health.DefaultHeadroom)
		if len(r.Clusters) != 1 {
			t.Fatalf("week %d: clusters %+v", week, r.Clusters)
		}
		last := r.Clusters[0].Periods[week-1]
		t.Logf("week %2d: %d deploys, peak CPU p50 %.2f, above warn p50 %.0fs p90 %.0fs %s", week-1, last.Deploys,
			last.PeakCPU.P50, last.SecondsAboveWarn.P50, last.SecondsAboveWarn.P90, r.Clusters[0].Flag)
		if f := r.Clusters[0].Flag; f != "" && flagged < 0 {
			flagged = time.Duration(week) * creepWeek
			if !strings.Contains(f, "creep-3-months deploys now spend a median") || !strings.Contains(f, "above readyz warn") || !strings.Contains(f, "up from") {
				t.Errorf("flag %q", f)
			}
		}
	}
	if flagged < 0 {
		t.Fatalf("the report never flagged the creep")
	}
	if lead := firstHarm - flagged; lead < 2*creepWeek {
		t.Fatalf("flagged at the end of week %d, the first harmful burst at %s: want at least two weeks of warning", flagged/creepWeek-1, firstHarm)
	}
}
