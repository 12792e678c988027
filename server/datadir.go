package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrDataDirInUse: another scaplockd holds the data dir.
var ErrDataDirInUse = errors.New("in use by another scaplockd")

// dataDirLock is an exclusive flock on <data dir>/scaplockd.lock, held for
// the life of the process that runs the embedded etcd there. The kernel
// drops it when the process dies, however it dies.
type dataDirLock struct {
	f *os.File
}

// lockDataDir takes the data dir's lock without waiting and writes this
// process's pid into the lock file. When another process holds it, the
// error names the dir and that process's pid.
func lockDataDir(dir string) (*dataDirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("SCAPLOCK_DATA_DIR: %w", err)
	}
	path := filepath.Join(dir, "scaplockd.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("SCAPLOCK_DATA_DIR: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("SCAPLOCK_DATA_DIR: %s is %w (pid %s)", dir, ErrDataDirInUse, holderPid(path))
		}
		return nil, fmt.Errorf("SCAPLOCK_DATA_DIR: lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("SCAPLOCK_DATA_DIR: write pid to %s: %w", path, err)
		}
	}
	return &dataDirLock{f: f}, nil
}

// holderPid is the pid written by the process holding the lock.
func holderPid(path string) string {
	raw, err := os.ReadFile(path)
	if pid := strings.TrimSpace(string(raw)); err == nil && pid != "" {
		return pid
	}
	return "unknown"
}

// release drops the lock; the pid file stays (the next holder rewrites it).
func (l *dataDirLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
