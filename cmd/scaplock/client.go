package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	apiv1 "github.com/scaplock/scaplock/api/v1"
)

// maxAnswerBytes bounds what the CLI reads of one answer.
const maxAnswerBytes = 16 << 20

// request is one call to the API.
type request struct {
	method string
	path   string // below the base URL, e.g. /api/v1/status
	query  url.Values
	body   any
	// extra is added to --timeout, for calls the server may hold open
	// (a queued deploy).
	extra time.Duration
	// idemKey is sent as Idempotency-Key: the same for every retry of one write.
	idemKey string
}

// answer is the service's reply.
type answer struct {
	status int
	body   []byte
}

// apiError is an answer other than the one expected.
type apiError struct {
	status int
	body   apiv1.ErrorBody
	// raw is set when the body was not the API's error shape.
	raw string
}

func (e *apiError) Error() string {
	if e.body.Error.Message == "" {
		msg := strings.TrimSpace(e.raw)
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if msg == "" {
			return fmt.Sprintf("unexpected answer: HTTP %d", e.status)
		}
		return fmt.Sprintf("unexpected answer: HTTP %d: %s", e.status, msg)
	}
	msg := e.body.Error.Message
	if f := e.body.Error.Field; f != "" && !strings.HasPrefix(msg, f+":") {
		msg += " (field " + f + ")"
	}
	if e.status >= 500 {
		msg += fmt.Sprintf(" (HTTP %d)", e.status)
	}
	return msg
}

// transportError is a call that got no answer at all.
type transportError struct {
	url string
	err error
}

func (e *transportError) Error() string {
	if errors.Is(e.err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer from %s in time: %v", e.url, e.err)
	}
	return fmt.Sprintf("cannot reach %s: %v", e.url, e.err)
}

func (e *transportError) Unwrap() error { return e.err }

// send makes one call within --timeout (plus r.extra). The error is a
// *transportError; any HTTP status is an answer.
func (c *cli) send(ctx context.Context, r request) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout+r.extra)
	defer cancel()
	u, err := c.endpoint(r.path, r.query)
	if err != nil {
		return answer{}, err
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return answer{}, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return answer{}, &transportError{url: u, err: err}
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if r.idemKey != "" {
		req.Header.Set("Idempotency-Key", r.idemKey)
	}
	if err := c.authorize(req); err != nil {
		return answer{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, &transportError{url: u, err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return answer{}, &transportError{url: u, err: fmt.Errorf("reading the answer: %w", err)}
	}
	return answer{status: resp.StatusCode, body: data}, nil
}

// call sends r and decodes a want answer into out (when not nil). Any other
// status is an *apiError. A write (POST, PATCH, DELETE) carries a fresh
// Idempotency-Key and is retried with it on no answer or a 503 for up to
// --retry-for, so that a retry never writes twice.
func (c *cli) call(ctx context.Context, r request, want int, out any) (answer, error) {
	a, err := c.sendRetrying(ctx, r)
	if err != nil {
		return a, err
	}
	if a.status != want {
		return a, a.asError()
	}
	if out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			return a, &apiError{status: a.status, raw: "undecodable body: " + err.Error()}
		}
	}
	return a, nil
}

// sendRetrying is send, retried for writes as call describes.
func (c *cli) sendRetrying(ctx context.Context, r request) (answer, error) {
	switch r.method {
	case http.MethodPost, http.MethodPatch, http.MethodDelete:
	default:
		return c.send(ctx, r)
	}
	if r.idemKey == "" {
		r.idemKey = newIdempotencyKey()
	}
	deadline := c.now().Add(c.retryFor)
	pause := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		a, err := c.send(ctx, r)
		if err == nil && a.status != http.StatusServiceUnavailable {
			return a, nil
		}
		if exitCode(err) == exitMisuse {
			return a, err // a bad --url or token file: no retry mends it
		}
		if ctx.Err() != nil || !c.now().Add(pause).Before(deadline) {
			return a, err
		}
		if attempt == 1 {
			why := "no answer"
			if err == nil {
				why = "service unavailable (503)"
			}
			fmt.Fprintf(c.stderr, "scaplock: %s; retrying with the same Idempotency-Key %s for up to %s\n", why, r.idemKey, c.retryFor)
		}
		select {
		case <-ctx.Done():
			return a, err
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// newIdempotencyKey is a random key for one write of this invocation.
func newIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "scaplock-" + hex.EncodeToString(b[:])
}

func (a answer) asError() *apiError {
	e := &apiError{status: a.status}
	if json.Unmarshal(a.body, &e.body) != nil || e.body.Error.Code == "" {
		e.body = apiv1.ErrorBody{}
		e.raw = string(a.body)
	}
	return e
}

func (c *cli) endpoint(path string, q url.Values) (string, error) {
	base, err := url.Parse(c.url)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return "", &misuseError{msg: fmt.Sprintf("--url %q must be an http(s)://host[:port] URL", c.url)}
	}
	base.Path = strings.TrimSuffix(base.Path, "/") + path
	base.RawQuery = q.Encode()
	return base.String(), nil
}

// authorize adds the bearer token, if any; an unreadable --token-file is
// a *misuseError.
func (c *cli) authorize(req *http.Request) error {
	tok, err := c.creds.bearer(func(w string) { fmt.Fprintln(c.stderr, w) })
	if err != nil {
		return err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// misuseError is the caller's mistake found before asking the service (a
// bad --url, an unreadable --token-file): exit 3, never "could not decide".
type misuseError struct{ msg string }

func (e *misuseError) Error() string { return e.msg }

// fail prints err as "scaplock: <message>" and returns its exit code (exitCode).
func (c *cli) fail(err error) int {
	var ae *apiError
	if errors.As(err, &ae) && len(ae.body.Reasons) > 0 {
		printRefusal(c.stderr, ae.body.Error.Message, ae.body.Reasons)
		return exitCode(err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "scaplock: ") {
		msg = "scaplock: " + msg // refusal messages already carry it
	}
	fmt.Fprintln(c.stderr, safeLines(strings.TrimRight(msg, "\n")))
	return exitCode(err)
}

// exitCode is err's exit code: the service's answer by exitForStatus, a
// misuseError 3, anything else (no answer, timeout) 2.
func exitCode(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return exitForStatus(ae.status)
	}
	var me *misuseError
	if errors.As(err, &me) {
		return exitMisuse
	}
	return exitUnsure
}

// exitForStatus maps an answer other than the expected one. Only 409 and
// 423 are the service saying no; 408 and 429 are "ask again later"; any
// other 4xx is the caller's mistake (bad input or scope, no or bad token,
// missing role, wrong URL or id), which must never pass as "could not
// decide" since --fail-open would turn that into a deploy. 5xx, 3xx and
// a 2xx that is not the expected one: could not decide.
func exitForStatus(status int) int {
	switch {
	case status == http.StatusConflict || status == http.StatusLocked:
		return exitRefused
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests:
		return exitUnsure
	case status >= 400 && status < 500:
		return exitMisuse
	}
	return exitUnsure
}

func errorBody(code, message string) apiv1.ErrorBody {
	return apiv1.ErrorBody{Error: apiv1.ErrorDetail{Code: code, Message: message}}
}
