package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Who holds which lease. Every lease taken records its holder (Options.Holder: a replica id, hostname-pid by default)
// in sqldb_lease_holder, for operators (`dossier projections status`, `reactions status`); LeaseHolders reads it
// back and says whether the lease is held right now (a dead holder's row stays until the next holder writes it).

// DefaultHolder is the holder name of a process that was given none: host name and process id.
func DefaultHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// LeaseHolder is what is known of one lease's holder.
type LeaseHolder struct {
	Holder string    // the last holder recorded
	Since  time.Time // when it took the lease
	Held   bool      // the lease is held now (by Holder, unless it died and another took it without recording)
}

const holderTimeout = 2 * time.Second

// recordHolder writes l's holder, best effort: a failure is logged, the lease stays valid.
func (db *DB) recordHolder(l *Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), holderTimeout)
	defer cancel()
	err := db.ensureHolderTable(ctx)
	if err == nil {
		_, err = db.ExecContext(ctx, db.Rebind(`INSERT INTO sqldb_lease_holder (name, holder, acquired_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at`),
			l.name, db.holder, time.Now().UTC())
	}
	if err != nil {
		db.logger.Warn("sqldb: cannot record the lease's holder", "lease", l.name, "error", err.Error())
	}
}

func (db *DB) ensureHolderTable(ctx context.Context) error {
	db.mu.Lock()
	done := db.holderTable
	db.mu.Unlock()
	if done {
		return nil
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS sqldb_lease_holder (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at TIMESTAMP NOT NULL
)`); err != nil {
		return err
	}
	db.mu.Lock()
	db.holderTable = true
	db.mu.Unlock()
	return nil
}

// LeaseHolders returns, by lease name, the last recorded holder of every lease whose name starts with prefix, and
// whether it is held now.
func (db *DB) LeaseHolders(ctx context.Context, prefix string) (map[string]LeaseHolder, error) {
	out := map[string]LeaseHolder{}
	rows, err := db.Reader().QueryxContext(ctx, db.Rebind(`SELECT name, holder, acquired_at FROM sqldb_lease_holder WHERE name LIKE ?`), prefix+"%")
	if err != nil {
		if db.ensureHolderTable(ctx) == nil { // no lease taken yet since this version: no table
			return out, nil
		}
		return nil, fmt.Errorf("sqldb: lease holders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name string
			h    LeaseHolder
		)
		if err := rows.Scan(&name, &h.Holder, &h.Since); err != nil {
			return nil, fmt.Errorf("sqldb: lease holders: %w", err)
		}
		out[name] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqldb: lease holders: %w", err)
	}
	held, err := db.heldNow(ctx, out)
	if err != nil {
		return nil, err
	}
	for name, h := range out {
		h.Held = held[name]
		out[name] = h
	}
	return out, nil
}

// heldNow tells which of the named leases are held now.
func (db *DB) heldNow(ctx context.Context, names map[string]LeaseHolder) (map[string]bool, error) {
	held := map[string]bool{}
	if db.dialect != Postgres {
		for name := range names {
			held[name] = db.fileLeaseHeld(name)
		}
		return held, nil
	}
	rows, err := db.Reader().QueryContext(ctx, `SELECT objid::bigint FROM pg_locks
WHERE locktype = 'advisory' AND classid = $1::bigint::oid AND objsubid = 2 AND granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`, int64(uint32(leaseNamespace)))
	if err != nil {
		return nil, fmt.Errorf("sqldb: leases held: %w", err)
	}
	defer rows.Close()
	keys := map[int64]bool{}
	for rows.Next() {
		var k sql.NullInt64
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("sqldb: leases held: %w", err)
		}
		keys[k.Int64] = true
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqldb: leases held: %w", err)
	}
	for name := range names {
		held[name] = keys[int64(uint32(leaseKey(name)))]
	}
	return held, nil
}

// presencePrefix names the leases that say a replica is alive (Join).
const presencePrefix = "replica."

// Join takes this process's presence lease ("replica.<holder>"), held until Release or Close: LiveReplicas counts
// the processes that hold one. Runners join so that replicas can share their leases fairly.
func (db *DB) Join(ctx context.Context) (*Lease, error) {
	return db.TryAcquireLease(ctx, presencePrefix+presenceName(db.holder))
}

// LiveReplicas counts the processes whose presence lease (Join) is held now.
func (db *DB) LiveReplicas(ctx context.Context) (int, error) {
	hs, err := db.LeaseHolders(ctx, presencePrefix)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, h := range hs {
		if h.Held {
			n++
		}
	}
	return n, nil
}

// presenceName makes a holder name fit a lease name: lower case, letters, digits, '_', '.', '-'.
func presenceName(holder string) string {
	b := []byte(strings.ToLower(holder))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) == 0 || !(b[0] >= 'a' && b[0] <= 'z' || b[0] >= '0' && b[0] <= '9') {
		b = append([]byte("r"), b...)
	}
	if len(b) > 100 {
		b = b[:100]
	}
	return string(b)
}
