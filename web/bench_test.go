package web_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/scaplock/scaplock/web"
)

// BenchmarkPageWeight reports what a first visit downloads: the HTML, the
// script and the stylesheet, uncompressed ("bytes", target < 100 KB) and
// gzipped ("gzip-bytes").
func BenchmarkPageWeight(b *testing.B) {
	h := web.Handler()
	var total, zipped int
	for range b.N {
		total, zipped = 0, 0
		for _, path := range []string{"/", "/static/app.js", "/static/style.css"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: %d", path, rec.Code)
			}
			total += rec.Body.Len()
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			_, _ = w.Write(rec.Body.Bytes())
			_ = w.Close()
			zipped += z.Len()
		}
	}
	if total >= 100_000 {
		b.Errorf("page weighs %d bytes, over the 100 KB budget", total)
	}
	b.ReportMetric(float64(total), "bytes")
	b.ReportMetric(float64(zipped), "gzip-bytes")
}

// BenchmarkWriteToPage measures from the start of a POST /api/v1/holds to
// the open page showing the new hold's reason, through the event stream.
// Each iteration also releases the hold (untimed). Use small counts:
// -benchtime=5x.
func BenchmarkWriteToPage(b *testing.B) {
	d := startDaemon(b, nil)
	br := newBrowser(b)
	br.open(b, d.url+"/")
	waitFor(b, br, "ALLOWED", verdictIs("global", "ALLOWED"), 5*time.Second)
	waitFor(b, br, "a live stream", `document.getElementById("conn").textContent === "live"`, 5*time.Second)
	var sum, worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		reason := fmt.Sprintf("benchmark hold %d", i)
		start := time.Now()
		h := d.hold(b, "global", reason)
		waitFor(b, br, reason, fmt.Sprintf(`[...document.querySelectorAll("#holds-table .reason")].some(e => e.textContent === %s)`, strconv.Quote(reason)), 5*time.Second)
		took := time.Since(start)
		sum += took
		worst = max(worst, took)
		b.StopTimer()
		d.release(b, h.ID)
		waitFor(b, br, "ALLOWED", verdictIs("global", "ALLOWED"), 5*time.Second)
		b.StartTimer()
	}
	b.ReportMetric(float64(sum.Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
	for _, p := range br.problems() {
		b.Errorf("page problem: %s", p)
	}
}
