// Package web is the status page, embedded in the binary so it works on an
// isolated network: one HTML file, one script, one stylesheet, no build step.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"unicode/utf8"
)

//go:embed static
var files embed.FS

// ContentSecurityPolicy allows only this origin's own script, style and
// connections: no inline script or style, nothing from elsewhere.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Handler serves the page at "/" and its assets under /static/.
func Handler() http.Handler {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	assets := http.StripPrefix("/static/", http.FileServer(http.FS(static)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
		// The embedded files carry no modification time: revalidate every
		// time, so a new release's page is never mixed with an old script.
		w.Header().Set("Cache-Control", "no-cache")
		switch {
		case r.URL.Path == "/":
			http.ServeFileFS(w, r, static, "index.html")
		case strings.HasPrefix(r.URL.Path, "/static/") && !strings.HasSuffix(r.URL.Path, "/") && validAsset(r.URL.Path):
			assets.ServeHTTP(w, r)
		default: // no directory listings, nothing outside /static/
			http.NotFound(w, r)
		}
	})
}

// validAsset reports whether path can name an embedded file at all: the
// file server answers 500, not 404, to names fs.FS rejects (/static/%ff).
func validAsset(path string) bool {
	name := strings.TrimPrefix(path, "/static/")
	return utf8.ValidString(name) && fs.ValidPath(name)
}
