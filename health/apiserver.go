package health

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Prefixes of a failed probe's Err, by which the metrics tell why it failed.
const (
	timeoutPrefix = "timeout after "
	statusPrefix  = "HTTP "
)

// probeAPIServer GETs the apiserver's readyz and reports its latency. An
// error, a timeout or a non-2xx answer sets Err; the evaluator counts that
// as crit for the latency signal, because an apiserver that does not answer
// is the very breach we guard against, not a failing metrics source.
func probeAPIServer(ctx context.Context, p *Prober, a APIServer, now time.Time) []Sample {
	timeout := p.cluster.Timeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s := Sample{Host: a.Host(), Signal: SignalLatency, At: now}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(a.URL, "/")+p.cluster.ReadyzPath, nil)
	if err != nil {
		s.Err = err.Error()
		return []Sample{s}
	}
	if p.token != nil {
		req.Header.Set("Authorization", "Bearer "+p.token.Token())
	}
	start := time.Now()
	resp, err := p.apiserver.Do(req)
	var body string
	if err == nil {
		// The latency includes the body: readyz is done when it has answered.
		body, err = readSome(resp.Body, 4096)
		resp.Body.Close()
	}
	s.Value = time.Since(start).Seconds()
	switch {
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		s.Err = timeoutPrefix + timeout.String()
	case err != nil:
		s.Err = shortError(err)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		s.Err = statusPrefix + resp.Status
		if failed := failedChecks(body); failed != "" {
			s.Err += ": " + failed
		}
	}
	return []Sample{s}
}

func readSome(r io.Reader, n int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, n))
	if err == nil {
		_, err = io.Copy(io.Discard, r)
	}
	return string(b), err
}

// failedChecks picks readyz's failed checks ("[-]etcd failed: reason
// withheld") out of a verbose body, so the refusal message can say which.
func failedChecks(body string) string {
	var failed []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		if name, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "[-]"); ok {
			name, _, _ = strings.Cut(name, " ")
			failed = append(failed, name)
		}
	}
	if len(failed) == 0 {
		return ""
	}
	return "failed " + strings.Join(failed, ", ")
}

// shortError drops the "Get <url>:" that net/http puts before every error.
func shortError(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err.Error()
	}
	return err.Error()
}
