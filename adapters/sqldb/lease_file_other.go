//go:build !unix

package sqldb

// acquireFile grants every SQLite lease where flock is not available: there the embedded database is used by a single
// process.
func (db *DB) acquireFile(l *Lease) error {
	l.release = func() error { return nil }
	return nil
}

// fileLeaseHeld cannot tell without flock: a lease is taken for held.
func (db *DB) fileLeaseHeld(string) bool { return true }
