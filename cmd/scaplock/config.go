package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// fileConfig is the optional CLI configuration: the service URL and the
// token file, so that neither has to be typed or exported. Flags and
// SCAPLOCK_* variables win over it.
type fileConfig struct {
	path      string // the file it came from; "" when there is none
	URL       string
	TokenFile string
}

// configPaths are where the configuration is looked for, first found wins:
// $SCAPLOCK_CONFIG, then the user's, then the system's.
func configPaths(getenv func(string) string) []string {
	if p := getenv("SCAPLOCK_CONFIG"); p != "" {
		return []string{p}
	}
	var paths []string
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		paths = append(paths, filepath.Join(d, "scaplock", "config.yaml"))
	} else if h := getenv("HOME"); h != "" {
		paths = append(paths, filepath.Join(h, ".config", "scaplock", "config.yaml"))
	}
	return append(paths, "/etc/scaplock/cli.yaml")
}

// loadConfig reads the first configuration file that exists. It is YAML
// of two keys, read strictly: any other key, or a line that is not
// "key: value", is an error naming the file and line.
//
//	url: https://scaplock.example/
//	token_file: ~/.config/scaplock/token
func loadConfig(getenv func(string) string) (fileConfig, error) {
	for i, p := range configPaths(getenv) {
		f, err := os.Open(p)
		if err != nil {
			if os.IsNotExist(err) && (i > 0 || getenv("SCAPLOCK_CONFIG") == "") {
				continue
			}
			return fileConfig{}, fmt.Errorf("config %s: %w", p, err)
		}
		defer f.Close()
		return parseConfig(p, f, getenv("HOME"))
	}
	return fileConfig{}, nil
}

func parseConfig(path string, f *os.File, home string) (fileConfig, error) {
	c := fileConfig{path: path}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || line == "---" {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return c, fmt.Errorf("%s:%d: not \"key: value\": %q", path, n, line)
		}
		value = strings.TrimSpace(value)
		if i := strings.Index(value, " #"); i >= 0 {
			value = strings.TrimSpace(value[:i])
		}
		value = strings.Trim(value, `"'`)
		switch strings.TrimSpace(key) {
		case "url":
			c.URL = value
		case "token_file":
			if rest, ok := strings.CutPrefix(value, "~/"); ok && home != "" {
				value = filepath.Join(home, rest)
			}
			c.TokenFile = value
		default:
			return c, fmt.Errorf("%s:%d: unknown key %q (known: url, token_file)", path, n, strings.TrimSpace(key))
		}
	}
	return c, sc.Err()
}
