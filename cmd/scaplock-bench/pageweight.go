package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

const pageBudget = 100 * 1024

var assetRef = regexp.MustCompile(`(?:src|href)="(/static/[^"?#]+)`)

// pageWeight sums the bytes of the status page and the /static/ assets it
// references, as the running server sends them (uncompressed).
func pageWeight(ctx context.Context, c *client) Row {
	const figure = "status page weight (GET / and its /static/ assets)"
	page, err := fetch(ctx, c, "/")
	if err != nil {
		return failed(figure, err)
	}
	total := len(page)
	var assets []string
	for _, m := range assetRef.FindAllStringSubmatch(string(page), -1) {
		if !slices.Contains(assets, m[1]) {
			assets = append(assets, m[1])
		}
	}
	if len(assets) == 0 {
		return failed(figure, fmt.Errorf("GET / references no /static/ asset"))
	}
	var parts []string
	for _, a := range assets {
		b, err := fetch(ctx, c, a)
		if err != nil {
			return failed(figure, err)
		}
		total += len(b)
		parts = append(parts, fmt.Sprintf("%s %.1f", strings.TrimPrefix(a, "/static/"), float64(len(b))/1024))
	}
	value := fmt.Sprintf("%.1f KB (index.html %.1f, %s KB)", float64(total)/1024, float64(len(page))/1024, strings.Join(parts, ", "))
	return check(figure, value, "< 100 KB", total < pageBudget)
}

func fetch(ctx context.Context, c *client, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	// Ask for the identity encoding: the weight is the assets' own size.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return io.ReadAll(resp.Body)
}
