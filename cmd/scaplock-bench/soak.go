package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/scaplock/scaplock/server/servertest"
)

// The soak's shape: the 5-minute soak.
const (
	soakLoad         = 5 * time.Minute
	soakAfter        = 60 * time.Second
	soakPreflighters = 32
	soakChurners     = 8
	soakReaders      = 100
	soakStuck        = 50
	soakEndBudgetMB  = 150
	soakIdleBudgetMB = 80
)

// soak runs scaplockd as a subprocess under mixed load (keep-alive
// preflights, hold churn, event-stream readers and event-stream clients
// that never read), then idle, and reports its RSS curve.
func soak(ctx context.Context, dir string) []Row {
	figure := "soak"
	bin, err := buildCommand(ctx, dir, "scaplockd")
	if err != nil {
		return []Row{failed(figure, err)}
	}
	data := filepath.Join(dir, "data")
	p, err := startProcess(ctx, bin, data)
	if err != nil {
		return []Row{failed(figure, err)}
	}
	defer p.stop()
	token, err := servertest.Token(filepath.Join(data, "jwt.secret"), "soak", "sre")
	if err != nil {
		return []Row{failed(figure, err)}
	}
	addr := strings.TrimPrefix(p.url, "http://")
	pid := p.cmd.Process.Pid
	startRSS, _ := rssMB(pid)

	lctx, stop := context.WithTimeout(ctx, soakLoad)
	defer stop()
	var wg sync.WaitGroup
	var preflights, churns, failures atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		if lctx.Err() == nil {
			failures.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
	}
	pc := newClient(p.url, "")
	for range soakPreflighters {
		wg.Go(func() {
			for lctx.Err() == nil {
				if _, err := pc.preflight(lctx, "global"); err != nil {
					fail(err)
					continue
				}
				preflights.Add(1)
			}
		})
	}
	cc := newClient(p.url, token)
	for range soakChurners {
		wg.Go(func() {
			for lctx.Err() == nil {
				if err := cc.holdCycle(lctx, "global"); err != nil {
					fail(err)
					continue
				}
				churns.Add(1)
			}
		})
	}
	var streamed atomic.Int64
	for range soakReaders {
		wg.Go(func() {
			for lctx.Err() == nil {
				req, _ := http.NewRequestWithContext(lctx, http.MethodGet, p.url+"/api/v1/events", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					fail(err)
					time.Sleep(100 * time.Millisecond)
					continue
				}
				n, _ := io.Copy(io.Discard, bufio.NewReader(resp.Body))
				streamed.Add(n)
				resp.Body.Close()
			}
		})
	}
	var stuck []net.Conn
	for range soakStuck {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
		c, err := d.DialContext(lctx, "tcp", addr)
		if err != nil {
			return []Row{failed(figure, err)}
		}
		fmt.Fprintf(c, "GET /api/v1/events HTTP/1.1\r\nHost: scaplock\r\n\r\n")
		stuck = append(stuck, c)
	}
	defer func() {
		for _, c := range stuck {
			c.Close()
		}
	}()

	var curve []string
	peak := startRSS
	sample := func(label string) float64 {
		mb, err := rssMB(pid)
		if err != nil {
			return 0
		}
		peak = max(peak, mb)
		curve = append(curve, fmt.Sprintf("%s %.0f", label, mb))
		return mb
	}
	began := time.Now()
	tick := time.NewTicker(30 * time.Second)
	for lctx.Err() == nil {
		select {
		case <-lctx.Done():
		case <-tick.C:
			sample(fmt.Sprintf("%ds", int(time.Since(began).Seconds())))
			progress("  soak %s: %d preflights, %d hold cycles", time.Since(began).Round(time.Second), preflights.Load(), churns.Load())
		}
	}
	tick.Stop()
	wg.Wait()
	endRSS := sample("end")
	stuckOpen := countOpen(stuck)
	for _, c := range stuck {
		c.Close()
	}
	idleAt := time.Now().Add(soakAfter)
	for time.Now().Before(idleAt) && ctx.Err() == nil {
		time.Sleep(15 * time.Second)
		sample(fmt.Sprintf("+%ds", int(soakAfter.Seconds()-time.Until(idleAt).Seconds())))
	}
	idleRSS, _ := rssMB(pid)
	curve = append(curve, "now "+rssParts(pid))
	rows := []Row{
		info(fmt.Sprintf("soak: %s of %d keep-alive preflight clients, %d hold-churn clients, %d stream readers, %d streams never read (subprocess, defaults)",
			soakLoad, soakPreflighters, soakChurners, soakReaders, soakStuck),
			fmt.Sprintf("%d preflights, %d hold create+release cycles, %d errors, %.1f MB streamed; %d of %d unread streams still connected at the end",
				preflights.Load(), churns.Load(), failures.Load(), float64(streamed.Load())/(1<<20), stuckOpen, soakStuck)),
		info("soak: scaplockd RSS curve, MB", fmt.Sprintf("start %.0f, %s (peak %.0f)", startRSS, strings.Join(curve, ", "), peak)),
		check("soak: scaplockd RSS at the end of the load", fmt.Sprintf("%.1f MB", endRSS), fmt.Sprintf("≤ %d MB", soakEndBudgetMB), endRSS <= soakEndBudgetMB),
		check(fmt.Sprintf("soak: scaplockd RSS %s after the load", soakAfter), fmt.Sprintf("%.1f MB", idleRSS), fmt.Sprintf("≤ %d MB", soakIdleBudgetMB), idleRSS <= soakIdleBudgetMB),
	}
	if failures.Load() > 0 {
		rows = append(rows, failed("soak: errors under load", errors.New(fmt.Sprint(firstErr.Load()))))
	}
	return rows
}

// countOpen reports how many connections the server has not closed: a
// read returns at once on a closed one (EOF or reset) and times out on an
// open one after its buffered data.
func countOpen(conns []net.Conn) int {
	open := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			open++
		}
	}
	return open
}
