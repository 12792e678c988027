package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// secretFlag holds a bearer token given as a flag. Its String is empty so
// that no usage text ever prints it as a default, and set records that it
// was given on the command line (which beats the environment).
type secretFlag struct {
	value string
	set   bool
}

func (s *secretFlag) String() string { return "" }
func (s *secretFlag) Set(v string) error {
	s.value, s.set = v, true
	return nil
}

// pathFlag is a file path flag that records whether it was given.
type pathFlag struct {
	value string
	set   bool
}

func (p *pathFlag) String() string { return p.value }
func (p *pathFlag) Set(v string) error {
	p.value, p.set = v, true
	return nil
}

// credentials resolve the bearer token once per invocation, in this order:
// --token, --token-file, SCAPLOCK_TOKEN, SCAPLOCK_TOKEN_FILE. A file
// readable by group or others gets a warning (the token is a password).
type credentials struct {
	flag     secretFlag
	file     pathFlag
	envToken string
	envFile  string

	once  sync.Once
	token string
	err   error
}

// bearer returns the token ("" for none) or a *misuseError naming the file.
// warn receives the wide-permissions warning.
func (cr *credentials) bearer(warn func(string)) (string, error) {
	cr.once.Do(func() {
		var file, from string
		switch {
		case cr.flag.set:
			cr.token = strings.TrimSpace(cr.flag.value)
			return
		case cr.file.set:
			file, from = cr.file.value, "--token-file"
		case cr.envToken != "":
			cr.token = strings.TrimSpace(cr.envToken)
			return
		case cr.envFile != "":
			file, from = cr.envFile, "SCAPLOCK_TOKEN_FILE"
		default:
			return
		}
		cr.token, cr.err = readTokenFile(file, from, warn)
	})
	return cr.token, cr.err
}

func readTokenFile(path, from string, warn func(string)) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", &misuseError{msg: fmt.Sprintf("%s: %v", from, err)}
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		warn(fmt.Sprintf("scaplock: WARNING: %s %s is readable by others (mode %04o); chmod 600 it", from, path, perm))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", &misuseError{msg: fmt.Sprintf("%s: %v", from, err)}
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", &misuseError{msg: fmt.Sprintf("%s: %s is empty", from, path)}
	}
	return tok, nil
}
