package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// scapLock is the JSON scap keeps in its lock file while the lock is held
// exclusively; "{}" when it is not.
type scapLock struct {
	Locker       string `json:"locker"`
	PID          int    `json:"pid"`
	TimestampUTC string `json:"timestamp_utc"`
	Reason       string `json:"reason"`
}

// lockFile is scap's global lock file, locked the way scap locks it: a
// POSIX record lock over the whole file (fcntl F_SETLK, what Python's
// fcntl.lockf does), not flock(2). Record locks belong to the process and
// ALL of them on the file go when any descriptor of it is closed, so the
// bridge opens the file once and never opens it again while it runs.
type lockFile struct {
	path string
	f    *os.File
	held bool
}

func openLockFile(path string) (*lockFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o664) // deployers (the group) take it with scap lock --all
	if err != nil {
		return nil, fmt.Errorf("lock file: %w", err)
	}
	return &lockFile{path: path, f: f}, nil
}

// lockHolder is another process's lock that keeps the bridge out.
type lockHolder struct {
	exclusive bool // a person's "scap lock"; else shared: syncs running
	pid       int
}

func (h lockHolder) String() string {
	if h.exclusive {
		return fmt.Sprintf("an exclusive lock (a person's scap lock, pid %d)", h.pid)
	}
	return fmt.Sprintf("a shared lock (a running sync, pid %d)", h.pid)
}

// errBusy means another process holds a lock on the file.
var errBusy = errors.New("lock file is locked by another process")

// tryExclusive takes the whole-file write lock without waiting. When
// another process holds a lock it returns errBusy and who holds it.
func (l *lockFile) tryExclusive() (lockHolder, error) {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	err := syscall.FcntlFlock(l.f.Fd(), syscall.F_SETLK, &lk)
	if err == nil {
		l.held = true
		return lockHolder{}, nil
	}
	if !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EACCES) {
		return lockHolder{}, fmt.Errorf("fcntl F_SETLK %s: %w", l.path, err)
	}
	probe := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(l.f.Fd(), syscall.F_GETLK, &probe); err != nil {
		return lockHolder{}, fmt.Errorf("%w (fcntl F_GETLK: %v)", errBusy, err)
	}
	return lockHolder{exclusive: probe.Type == syscall.F_WRLCK, pid: int(probe.Pid)}, errBusy
}

// write replaces the file's content; only while held.
func (l *lockFile) write(content []byte) error {
	if _, err := l.f.WriteAt(content, 0); err != nil {
		return fmt.Errorf("write %s: %w", l.path, err)
	}
	if err := l.f.Truncate(int64(len(content))); err != nil {
		return fmt.Errorf("truncate %s: %w", l.path, err)
	}
	return nil
}

// writeLock writes scap's JSON for an exclusive lock.
func (l *lockFile) writeLock(s scapLock) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return l.write(b)
}

// release resets the file to "{}", as scap does, and unlocks it.
func (l *lockFile) release() error {
	if !l.held {
		return nil
	}
	werr := l.write([]byte("{}"))
	lk := syscall.Flock_t{Type: syscall.F_UNLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(l.f.Fd(), syscall.F_SETLK, &lk); err != nil {
		return fmt.Errorf("fcntl F_UNLCK %s: %w", l.path, err)
	}
	l.held = false
	return werr
}

// read is the file's JSON through the bridge's own descriptor (opening
// another one would cost the bridge its lock when closed).
func (l *lockFile) read() (scapLock, error) {
	b := make([]byte, 64<<10)
	n, err := l.f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return scapLock{}, err
	}
	var s scapLock
	if n == 0 {
		return s, nil
	}
	err = json.Unmarshal(b[:n], &s)
	return s, err
}

func (l *lockFile) close() error {
	err := l.release()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
