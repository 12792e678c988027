package server

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// checkListen checks a listen address the way net.Listen will read it, so
// that a bad one fails check-config instead of the start, after the data
// dir and the store are already in use.
func checkListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. :8080 or 127.0.0.1:8080)", addr)
	}
	if err := checkPort(port); err != nil {
		return fmt.Errorf("%q: %w", addr, err)
	}
	if host != "" && net.ParseIP(host) == nil && !isHostName(host) {
		return fmt.Errorf("%q: %q is neither an IP address nor a host name", addr, host)
	}
	return nil
}

// checkPort accepts a port number 0-65535 (0: any free port) or, as
// net.Listen does, a service name from /etc/services.
func checkPort(port string) error {
	n, err := strconv.Atoi(port)
	switch {
	case err != nil:
		if _, err := net.LookupPort("tcp", port); err != nil {
			return fmt.Errorf("port %q is neither a number nor a service name", port)
		}
	case n < 0 || n > 65535:
		return fmt.Errorf("port %d is out of range 0-65535", n)
	}
	return nil
}

// checkURL checks an absolute URL with one of schemes and a host, and a
// port in range when it names one.
func checkURL(raw string, schemes ...string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || !slices.Contains(schemes, u.Scheme) || u.Hostname() == "" {
		return nil, fmt.Errorf("%q is not an absolute %s://host[:port] URL", raw, strings.Join(schemes, "|"))
	}
	if p := u.Port(); p != "" {
		if err := checkPort(p); err != nil {
			return nil, fmt.Errorf("%q: %w", raw, err)
		}
	}
	return u, nil
}

func isHostName(h string) bool {
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
