package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestHandlerServes(t *testing.T) {
	for _, tc := range []struct {
		path, contentType, contains string
	}{
		{"/", "text/html; charset=utf-8", `<script src="/static/app.js"`},
		{"/static/app.js", "text/javascript; charset=utf-8", "EventSource"},
		{"/static/style.css", "text/css; charset=utf-8", ".verdict"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body := get(t, tc.path)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got := res.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
				t.Errorf("Content-Security-Policy %q, want %q", got, ContentSecurityPolicy)
			}
			if !strings.Contains(body, tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
		})
	}
}

func TestHandlerNotFound(t *testing.T) {
	for _, path := range []string{"/static/nope.js", "/static/", "/static", "/nope", "/static/../web.go"} {
		t.Run(path, func(t *testing.T) {
			res, _ := get(t, path)
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("status %d, want 404", res.StatusCode)
			}
			if res.Header.Get("Content-Security-Policy") == "" {
				t.Error("no Content-Security-Policy on a 404")
			}
		})
	}
}

func TestContentSecurityPolicyIsStrict(t *testing.T) {
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		if strings.Contains(ContentSecurityPolicy, bad) {
			t.Errorf("policy allows %q: %s", bad, ContentSecurityPolicy)
		}
	}
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, want) {
			t.Errorf("policy lacks %q: %s", want, ContentSecurityPolicy)
		}
	}
}

// The policy forbids inline script and style; the page must not need them.
func TestIndexHasNoInlineScriptOrStyle(t *testing.T) {
	_, body := get(t, "/")
	scripts := regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`).FindAllStringSubmatch(body, -1)
	if len(scripts) == 0 {
		t.Fatal("index.html loads no script")
	}
	for _, m := range scripts {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script: %s", m[0])
		}
	}
	for _, re := range []string{`(?i)<style\b`, `(?i)\sstyle=`, `(?i)\son[a-z]+=`, `(?i)javascript:`, `(?i)(src|href)="(https?:)?//`} {
		if loc := regexp.MustCompile(re).FindStringIndex(body); loc != nil {
			t.Errorf("index.html matches %s at %q", re, body[loc[0]:min(len(body), loc[1]+40)])
		}
	}
}

// The script builds the DOM from data with textContent only.
func TestScriptNeverUsesInnerHTML(t *testing.T) {
	_, body := get(t, "/static/app.js")
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(body, bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
}
