package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/scaplock/scaplock/api"
	"github.com/scaplock/scaplock/lock/tick"
	"github.com/scaplock/scaplock/server/servertest"
)

const (
	historyEvents      = 100000
	historyReaders     = 10
	historyPerReader   = 50
	historyFiltered    = 20
	historyPageP99     = 20 * time.Millisecond
	historyFilteredMax = 100 * time.Millisecond
)

// historyLoad writes historyEvents events through the store of an
// in-process scaplockd, then runs scaplockd as a subprocess on that data
// and measures the history as the page and the CLI read it: the newest
// page with 10 concurrent readers, filters that match nothing, and the
// daemon's RSS throughout.
func historyLoad(ctx context.Context, dir string) []Row {
	figure := fmt.Sprintf("/history at %d events", historyEvents)
	data := filepath.Join(dir, "data")
	srv, err := servertest.Start(ctx, map[string]string{"SCAPLOCK_DATA_DIR": data})
	if err != nil {
		return []Row{failed(figure, err)}
	}
	began := time.Now()
	err = writeHistory(ctx, srv.Store(), historyEvents)
	took := time.Since(began)
	var live, chunks int64
	var archiveTook time.Duration
	if err == nil {
		began = time.Now()
		live, chunks, err = archiveHistory(ctx, srv.Store())
		archiveTook = time.Since(began)
	}
	if stopErr := srv.Stop(); err == nil {
		err = stopErr
	}
	if err != nil {
		return []Row{failed(figure+": write the history", err)}
	}
	progress("  wrote %d events in %s, archived in %s", historyEvents, took.Round(100*time.Millisecond), archiveTook.Round(100*time.Millisecond))

	bin, err := buildCommand(ctx, dir, "scaplockd")
	if err != nil {
		return []Row{failed(figure, err)}
	}
	p, err := startProcess(ctx, bin, data)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer p.stop()
	token, err := servertest.Token(filepath.Join(data, "jwt.secret"), "bench", api.RoleSRE)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	c := newClient(p.url, token)
	rss := sampleRSS(p.cmd.Process.Pid, 50*time.Millisecond)
	defer rss.stop()
	startRSS := rss.max()

	seq, err := timeN(100, func() error {
		return c.do(ctx, http.MethodGet, "/api/v1/history?limit=50", nil, nil, http.StatusOK)
	})
	if err != nil {
		return []Row{failed(figure+": one reader", err)}
	}
	var mu sync.Mutex
	var pageLat []time.Duration
	var wg sync.WaitGroup
	errs := make([]error, historyReaders)
	for r := range historyReaders {
		wg.Go(func() {
			for range historyPerReader {
				t := time.Now()
				var page struct{ Events []struct{ ID string } }
				if err := c.do(ctx, http.MethodGet, "/api/v1/history?limit=50", nil, &page, http.StatusOK); err != nil {
					errs[r] = err
					return
				}
				d := time.Since(t)
				if len(page.Events) != 50 {
					errs[r] = fmt.Errorf("newest page has %d events, want 50", len(page.Events))
					return
				}
				mu.Lock()
				pageLat = append(pageLat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	rows := []Row{info(fmt.Sprintf("/history?limit=50 at %d events, one reader, p50 / p99", historyEvents),
		fmt.Sprintf("%s / %s (n=%d)", fmtDur(median(seq)), fmtDur(percentile(seq, 99)), len(seq)))}
	pageFigure := fmt.Sprintf("/history?limit=50 at %d events, %d concurrent readers, p50 / p99", historyEvents, historyReaders)
	if err := errors.Join(errs...); err != nil {
		rows = append(rows, failed(pageFigure, err))
	} else {
		p99 := percentile(pageLat, 99)
		rows = append(rows, check(pageFigure, fmt.Sprintf("%s / %s (n=%d, load average %s)", fmtDur(median(pageLat)), fmtDur(p99), len(pageLat), loadAverage()),
			"p99 ≤ "+fmtDur(historyPageP99), p99 <= historyPageP99))
	}
	for _, q := range []string{"actor=nobody", "action=would_clear", "hold=nosuchhold"} {
		f := fmt.Sprintf("/history?%s at %d events (matches nothing), max of %d", q, historyEvents, historyFiltered)
		lat, err := timeN(historyFiltered, func() error {
			var page struct{ Events []struct{ ID string } }
			if err := c.do(ctx, http.MethodGet, "/api/v1/history?"+q, nil, &page, http.StatusOK); err != nil {
				return err
			}
			if len(page.Events) != 0 {
				return fmt.Errorf("%d events matched %s", len(page.Events), q)
			}
			return nil
		})
		if err != nil {
			rows = append(rows, failed(f, err))
			continue
		}
		worst := percentile(lat, 100)
		rows = append(rows, check(f, fmtDur(worst), "≤ "+fmtDur(historyFilteredMax), worst <= historyFilteredMax))
	}
	peak := rss.max()
	rows = append(rows, check(fmt.Sprintf("scaplockd RSS while serving /history at %d events", historyEvents),
		fmt.Sprintf("peak %.1f MB (%.1f MB after start; now %s)", peak, startRSS, rssParts(p.cmd.Process.Pid)), fmt.Sprintf("≤ %d MB", rssBudgetMB), peak <= rssBudgetMB))
	return append([]Row{
		info(fmt.Sprintf("%d history events written through the store in bulk", historyEvents), fmtDur(took)),
		info("the same folded into archive chunks (the sweep folds too); scaplockd compacts and rewrites the database file at start",
			fmt.Sprintf("%s: %d events left live, %d chunks", fmtDur(archiveTook), live, chunks)),
	}, rows...)
}

// buildCommand builds ./cmd/<name> into dir and returns the binary's path.
func buildCommand(ctx context.Context, dir, name string) (string, error) {
	bin := filepath.Join(dir, name)
	progress("  go build ./cmd/%s", name)
	return bin, servertest.GoBuild(ctx, bin, "github.com/scaplock/scaplock/cmd/"+name)
}

// rssSampler records the peak RSS of a process until stopped.
type rssSampler struct {
	mu   sync.Mutex
	peak float64
	done chan struct{}
	wg   sync.WaitGroup
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{done: make(chan struct{})}
	s.sample(pid)
	s.wg.Go(func() { tick.Until(s.done, every, func() { s.sample(pid) }) })
	return s
}

func (s *rssSampler) sample(pid int) {
	if mb, err := rssMB(pid); err == nil {
		s.mu.Lock()
		s.peak = max(s.peak, mb)
		s.mu.Unlock()
	}
}

func (s *rssSampler) max() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

func (s *rssSampler) stop() {
	close(s.done)
	s.wg.Wait()
}

// rssParts is a process's resident memory split into anonymous (heap) and
// file-backed (etcd's memory-mapped database) parts.
func rssParts(pid int) string {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?"
	}
	var parts []string
	for _, l := range strings.Split(string(raw), "\n") {
		for _, k := range []string{"RssAnon:", "RssFile:"} {
			if rest, ok := strings.CutPrefix(l, k); ok {
				var kb float64
				fmt.Sscan(rest, &kb)
				parts = append(parts, fmt.Sprintf("%s %.0f MB", strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(k, "Rss"), ":")), kb/1024))
			}
		}
	}
	return strings.Join(parts, ", ")
}

// loadAverage is the machine's 1-minute load average: the figures share
// the CPUs with whatever else runs.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(raw))[0]
}
