//go:build unix

package sqldb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// acquireFile takes an exclusive, non-blocking flock on <database>.leases/<name>.lock. flock belongs to the open
// file, so it excludes other handles in this process as well as other processes, and the kernel drops it when the
// holder's process dies.
func (db *DB) acquireFile(l *Lease) error {
	if err := os.MkdirAll(db.leaseDir, 0o750); err != nil {
		return fmt.Errorf("sqldb: acquire lease %s: %w", l.name, err)
	}
	f, err := os.OpenFile(filepath.Join(db.leaseDir, l.name+".lock"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("sqldb: acquire lease %s: %w", l.name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("%w: %s", ErrLeaseHeld, l.name)
		}
		return fmt.Errorf("sqldb: acquire lease %s: %w", l.name, err)
	}
	l.release = f.Close
	return nil
}

// fileLeaseHeld reports whether someone holds the named lease now (a non-blocking flock on a fresh descriptor fails).
func (db *DB) fileLeaseHeld(name string) bool {
	f, err := os.Open(filepath.Join(db.leaseDir, name+".lock"))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}
