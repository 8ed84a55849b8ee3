package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"regexp"
	"sync"
	"time"
)

var (
	// ErrLeaseHeld is returned by TryAcquireLease when another holder has the lease.
	ErrLeaseHeld = errors.New("sqldb: lease held by another holder")
	// ErrLeaseLost is a lease's Err after its connection broke: another holder may already run.
	ErrLeaseLost = errors.New("sqldb: lease lost")
	// ErrLeaseReleased is a lease's Err after Release or DB.Close.
	ErrLeaseReleased = errors.New("sqldb: lease released")
	// ErrClosed is returned when the DB is already closed.
	ErrClosed = errors.New("sqldb: database closed")
)

// leaseNamespace is the first key of every lease's two-key advisory lock, so Dossier's leases are recognisable in
// pg_locks (classid) and never meet goose's or anyone else's single-key locks (the two key spaces do not overlap).
const leaseNamespace int32 = 0x646f7373 // "doss"

// Lease checks: how often the holder's connection is probed, and how long a probe may take before the lease is
// taken for lost.
const (
	leaseCheckInterval = time.Second
	leaseCheckTimeout  = 3 * time.Second
)

var leaseName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,127}$`)

// Lease is the exclusive right to run something (a projection, a migration) among every process sharing the
// database. It lasts until Release, DB.Close, or the loss of its connection; Done tells when it has ended.
type Lease struct {
	name    string
	db      *DB
	done    chan struct{}
	release func() error

	once sync.Once
	mu   sync.Mutex
	err  error
}

// Name is the name the lease was acquired under.
func (l *Lease) Name() string { return l.name }

// Done is closed when the lease ends, for whatever reason: a holder must stop the guarded work then.
func (l *Lease) Done() <-chan struct{} { return l.done }

// Err is nil while the lease is held, then ErrLeaseReleased or an error wrapping ErrLeaseLost.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Release gives the lease up. Releasing an ended lease does nothing.
func (l *Lease) Release() error {
	return l.end(ErrLeaseReleased)
}

// end records why the lease ended, drops its lock and closes Done, once.
func (l *Lease) end(reason error) error {
	var err error
	l.once.Do(func() {
		l.mu.Lock()
		l.err = reason
		l.mu.Unlock()
		if rerr := l.release(); rerr != nil {
			err = fmt.Errorf("sqldb: release lease %s: %w", l.name, rerr)
		}
		l.db.mu.Lock()
		delete(l.db.leases, l)
		l.db.mu.Unlock()
		close(l.done)
	})
	return err
}

// TryAcquireLease takes the named lease if nobody holds it, and returns ErrLeaseHeld otherwise. Names are lower-case
// letters, digits, '_', '.' and '-' (e.g. "projection.members"). The lease is exclusive across DB handles and
// processes, including other handles in this process.
func (db *DB) TryAcquireLease(ctx context.Context, name string) (*Lease, error) {
	if !leaseName.MatchString(name) {
		return nil, fmt.Errorf("sqldb: invalid lease name %q", name)
	}
	db.mu.Lock()
	closed := db.closed
	db.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	l := &Lease{name: name, db: db, done: make(chan struct{})}
	var err error
	switch db.dialect {
	case Postgres:
		err = db.acquirePostgres(ctx, l)
	default:
		err = db.acquireFile(l)
	}
	if err != nil {
		return nil, err
	}
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		_ = l.release()
		return nil, ErrClosed
	}
	db.leases[l] = struct{}{}
	db.mu.Unlock()
	db.recordHolder(l)
	return l, nil
}

// AcquireLease waits until it can take the named lease, trying again every retry (1s if not positive), or until ctx
// ends. Errors other than ErrLeaseHeld end the wait.
func (db *DB) AcquireLease(ctx context.Context, name string, retry time.Duration) (*Lease, error) {
	if retry <= 0 {
		retry = time.Second
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sqldb: acquire lease %s: %w", name, ctx.Err())
		case <-t.C:
		}
		l, err := db.TryAcquireLease(ctx, name)
		if err == nil {
			return l, nil
		}
		if ctx.Err() != nil {
			// The context ended during the attempt; the driver may then report a broken connection ("driver: bad
			// connection" from a dial cut short) rather than the context's error. The caller gave up: say so.
			return nil, fmt.Errorf("sqldb: acquire lease %s: %w (%v)", name, ctx.Err(), err)
		}
		if !errors.Is(err, ErrLeaseHeld) {
			return nil, err
		}
		t.Reset(retry)
	}
}

func leaseKey(name string) int32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int32(h.Sum32())
}

// acquirePostgres takes a session advisory lock on a connection of its own. The lock lives exactly as long as that
// session: closing the connection (Release, Close, the process dying) frees it on the server at once.
func (db *DB) acquirePostgres(ctx context.Context, l *Lease) error {
	conn, err := db.leasePool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqldb: acquire lease %s: %w", l.name, err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, $2)", leaseNamespace, leaseKey(l.name)).
		Scan(&got); err != nil {
		_ = conn.Close()
		return fmt.Errorf("sqldb: acquire lease %s: %w", l.name, err)
	}
	if !got {
		_ = conn.Close()
		return fmt.Errorf("%w: %s", ErrLeaseHeld, l.name)
	}
	stop := make(chan struct{})
	l.release = func() error {
		close(stop)
		// Unlock first, so that the lock is gone when Release returns (a closed session's backend ends, and frees
		// its locks, a moment after the client has left); then close the session, which frees it anyway if the
		// unlock could not be sent. The lease pool keeps no idle connection.
		uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1, $2)", leaseNamespace, leaseKey(l.name))
		cancel()
		return conn.Close()
	}
	go watchLease(l, conn, stop)
	return nil
}

// watchLease probes the lease's connection until the lease ends; a failed probe means the session, and so the lock,
// may be gone.
func watchLease(l *Lease, conn *sql.Conn, stop <-chan struct{}) {
	tick := time.NewTicker(leaseCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), leaseCheckTimeout)
		_, err := conn.ExecContext(ctx, "SELECT 1")
		cancel()
		if err != nil {
			select {
			case <-stop: // released meanwhile: the probe failed because the connection was closed on purpose
				return
			default:
			}
			l.db.logger.Warn("lease lost", slog.String("lease", l.name), slog.String("error", err.Error()))
			_ = l.end(fmt.Errorf("%w: %s: %w", ErrLeaseLost, l.name, err))
			return
		}
	}
}
