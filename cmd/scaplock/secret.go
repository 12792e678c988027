package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"
)

// givenFlag is a string flag that records whether it was given on the
// command line (which beats the environment).
type givenFlag struct {
	value string
	set   bool
}

func (g *givenFlag) String() string { return g.value }
func (g *givenFlag) Set(v string) error {
	g.value, g.set = v, true
	return nil
}

// secretFlag holds a bearer token given as a flag. Its String is empty so
// that the usage never prints a token as a default.
type secretFlag struct{ givenFlag }

func (s *secretFlag) String() string { return "" }

// credentials resolve the bearer token, in this order: --token,
// --token-file, SCAPLOCK_TOKEN, SCAPLOCK_TOKEN_FILE. A token file is read
// again when it changes, so a long-running scap-bridge picks up a rotated
// token; a file readable by group or others gets one warning (the token is
// a password).
type credentials struct {
	flag     secretFlag
	file     givenFlag
	envToken string
	envFile  string
	// configFile is token_file from the configuration file, configFrom
	// names it in errors.
	configFile, configFrom string

	mu     sync.Mutex
	cached tokenFile
	warned bool
}

// tokenFile is one reading of a token file.
type tokenFile struct {
	path  string
	mtime time.Time
	size  int64
	token string
}

// bearer returns the token ("" for none) or a *misuseError naming the file.
// warn receives the wide-permissions warning.
func (cr *credentials) bearer(warn func(string)) (string, error) {
	var path, from string
	switch {
	case cr.flag.set:
		return strings.TrimSpace(cr.flag.value), nil
	case cr.file.set:
		path = cr.file.value
		from = "--token-file " + path
	case cr.envToken != "":
		return strings.TrimSpace(cr.envToken), nil
	case cr.envFile != "":
		path = cr.envFile
		from = "SCAPLOCK_TOKEN_FILE=" + path
	case cr.configFile != "":
		path = cr.configFile
		from = cr.configFrom + " " + path
	default:
		return "", nil
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	info, err := os.Stat(path)
	if err != nil {
		return "", unreadable(from, err)
	}
	if c := cr.cached; c.path == path && c.mtime.Equal(info.ModTime()) && c.size == info.Size() {
		return c.token, nil
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && !cr.warned {
		warn(fmt.Sprintf("scaplock: WARNING: %s is readable by others (mode %04o); chmod 600 it", from, perm))
		cr.warned = true
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", unreadable(from, err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", &misuseError{msg: from + ": the file is empty"}
	}
	cr.cached = tokenFile{path: path, mtime: info.ModTime(), size: info.Size(), token: tok}
	return tok, nil
}

// unreadable is the misuse of a token file that cannot be read, naming
// it once: "--token-file /x: no such file or directory".
func unreadable(from string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &misuseError{msg: fmt.Sprintf("%s: %v", from, err)}
}
