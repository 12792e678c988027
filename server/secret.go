package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ensureSecret returns the path of the HS256 secret in dataDir, writing a
// random one (mode 0600) the first time. created says whether it did.
func ensureSecret(dataDir string) (path string, created bool, err error) {
	path = filepath.Join(dataDir, "jwt.secret")
	if _, err := os.Stat(path); err == nil {
		return path, false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("SCAPLOCK_DATA_DIR: %w", err)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("write JWT secret: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(b[:]) + "\n"); err != nil {
		f.Close()
		return "", false, fmt.Errorf("write JWT secret: %w", err)
	}
	return path, true, f.Close()
}
