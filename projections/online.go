package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// Rebuilding a projection that servers are running (`dossier projections rebuild NAME` beside them, issue 12).
//
// Rebuild needs the projection's lease, which a running replica holds. Instead of stopping every replica, an operator
// records a request (RequestRebuild); the replica holding the version's lease serves it between two batches of its
// live work: it builds the version again from the start of the log into tables of their own (OnlineVersion, beside
// the live ones, read by nobody), catches them up while the live version goes on, then — in its own goroutine, so
// the live version cannot move meanwhile — applies the last events to them and copies them over the live tables in
// one transaction. Readers see the rows before or after, never a mix and never an empty read model; the checkpoint
// does not move (both reflect the same position). The request row says how far the rebuild went and how it ended.
//
// A replica that loses the lease while building drops the work; the next holder finds the request still pending and
// starts again (leftover tables are dropped first). A failed rebuild leaves the live rows as they were and the
// request failed with its error.

// Rebuild request states.
const (
	RebuildRequested = "requested"
	RebuildBuilding  = "building"
	RebuildDone      = "done"
	RebuildFailed    = "failed"
)

// onlineOffset puts the tables of an online rebuild far from any real version (and from Verify's).
const onlineOffset = 800000

// OnlineVersion is the version whose tables an online rebuild of version v builds into.
func OnlineVersion(v int) int { return onlineOffset + v }

// RebuildRequest is a projection version's last rebuild request (a row of projection_rebuild_requests).
type RebuildRequest struct {
	Name        string       `db:"name"`
	Version     int          `db:"version"`
	RequestedAt time.Time    `db:"requested_at"`
	RequestedBy string       `db:"requested_by"`
	State       string       `db:"state"`
	Position    uint64       `db:"position"` // how far the rebuilt tables reflect the log
	Target      uint64       `db:"target"`   // the live checkpoint when the build started
	Events      int64        `db:"events"`
	FinishedAt  sql.NullTime `db:"finished_at"`
	Error       string       `db:"error"`
}

// Pending says whether the request waits for, or is being served by, the replica running the projection.
func (r RebuildRequest) Pending() bool {
	return r.State == RebuildRequested || r.State == RebuildBuilding
}

const rebuildRequestColumns = "name, version, requested_at, requested_by, state, position, target, events, finished_at, error"

// RequestRebuild asks the replica running p's version to rebuild it online (see the comment above) and returns the
// request. by names the requester (an operator id or ticket, never a name or an email). A request already pending is
// returned as it is: asking twice rebuilds once.
func RequestRebuild(ctx context.Context, db *sqldb.DB, p Projection, by string, now time.Time) (RebuildRequest, error) {
	if err := migrateRuntime(ctx, db); err != nil {
		return RebuildRequest{}, err
	}
	var out RebuildRequest
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		cur, found, err := rebuildRequest(ctx, tx, p.Name(), p.Version())
		if err != nil {
			return err
		}
		if found && cur.Pending() {
			out = cur
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind("DELETE FROM projection_rebuild_requests WHERE name = ? AND version = ?"),
			p.Name(), p.Version()); err != nil {
			return err
		}
		out = RebuildRequest{Name: p.Name(), Version: p.Version(), RequestedAt: now.UTC().Truncate(time.Microsecond), RequestedBy: by, State: RebuildRequested}
		_, err = tx.NamedExecContext(ctx, `INSERT INTO projection_rebuild_requests (`+rebuildRequestColumns+`)
			VALUES (:name, :version, :requested_at, :requested_by, :state, :position, :target, :events, :finished_at, :error)`, out)
		return err
	})
	if err != nil {
		return RebuildRequest{}, fmt.Errorf("projections: request a rebuild of %s: %w", owner(p), err)
	}
	return out, nil
}

// RebuildStatus returns p's version's last rebuild request (false: none was ever made).
func RebuildStatus(ctx context.Context, db *sqldb.DB, name string, version int) (RebuildRequest, bool, error) {
	r, found, err := rebuildRequest(ctx, db.Reader(), name, version)
	if err != nil {
		return r, false, fmt.Errorf("projections: read the rebuild request of %s: %w", Prefix(name, version), err)
	}
	return r, found, nil
}

// queryer is a pool or a transaction.
type queryer interface {
	sqlx.QueryerContext
	Rebind(string) string
}

// ReadRebuildRequests returns every projection version's last rebuild request (for `projections status`). A runtime
// migrated before the request table existed has none.
func ReadRebuildRequests(ctx context.Context, q sqlx.QueryerContext) ([]RebuildRequest, error) {
	var out []RebuildRequest
	if err := sqlx.SelectContext(ctx, q, &out, "SELECT "+rebuildRequestColumns+" FROM projection_rebuild_requests ORDER BY name, version"); err != nil {
		return nil, fmt.Errorf("projections: read the rebuild requests: %w", err)
	}
	return out, nil
}

func rebuildRequest(ctx context.Context, q queryer, name string, version int) (RebuildRequest, bool, error) {
	var r RebuildRequest
	err := sqlx.GetContext(ctx, q, &r, q.Rebind("SELECT "+rebuildRequestColumns+
		" FROM projection_rebuild_requests WHERE name = ? AND version = ?"), name, version)
	if errors.Is(err, sql.ErrNoRows) {
		return RebuildRequest{}, false, nil
	}
	return r, err == nil, err
}

// online is an online rebuild being served by a worker's session.
type online struct {
	scratch Projection
	done    chan struct{}
	cancel  context.CancelFunc
	last    uint64 // what the scratch tables reflect, once done
	events  int64
	err     error
}

// ready is closed once the scratch tables have caught up with the position the build started from (nil: no build).
func (o *online) ready() <-chan struct{} {
	if o == nil {
		return nil
	}
	return o.done
}

// serveRebuild starts the online rebuild of the worker's version when one is requested and none runs. pos is the
// version's checkpoint. Called from the worker's goroutine (consume).
func (w *worker) serveRebuild(ctx context.Context, o **online, pos uint64) error {
	if *o != nil {
		return nil
	}
	req, found, err := rebuildRequest(ctx, w.r.db.Reader(), w.name, w.version)
	if err != nil {
		return err
	}
	if !found || !req.Pending() {
		return nil
	}
	scratch, err := AtVersion(w.p, OnlineVersion(w.version))
	if err != nil {
		return err
	}
	if err := w.setRebuild(ctx, RebuildBuilding, 0, pos, 0, ""); err != nil {
		return err
	}
	w.logger.Info("projections: rebuilding online at an operator's request", "requested_by", req.RequestedBy, "target", pos)
	bctx, cancel := context.WithCancel(ctx)
	b := &online{scratch: scratch, done: make(chan struct{}), cancel: cancel}
	*o = b
	go func() {
		defer close(b.done)
		if b.err = dropOnline(bctx, w.r.db, scratch); b.err != nil {
			return
		}
		if b.err = migrateVersion(bctx, w.r.db, scratch); b.err != nil {
			return
		}
		var lastReport time.Time
		b.events, b.err = applyRange(bctx, w.r.db, w.r.source, scratch, 0, pos, w.r.opts.MaxBatch, func(at, target uint64) {
			if time.Since(lastReport) >= time.Second {
				lastReport = time.Now()
				_ = w.setRebuild(bctx, RebuildBuilding, at, target, 0, "")
			}
		})
		b.last = pos
	}()
	return nil
}

// finishRebuild runs once the build is ready: in the worker's goroutine, so the live version stands still at pos, it
// applies the events after the build's target to the scratch tables and copies them over the live ones, then drops
// them. A failure is the request's, not the live projection's: the live rows stay as they were.
func (w *worker) finishRebuild(ctx context.Context, o **online, pos uint64) error {
	b := *o
	*o = nil
	defer b.cancel()
	err := b.err
	if err == nil {
		var more int64
		more, err = applyRange(ctx, w.r.db, w.r.source, b.scratch, b.last, pos, w.r.opts.MaxBatch, nil)
		b.events += more
	}
	if err == nil {
		err = w.r.db.InTx(ctx, func(tx *sqldb.Tx) error {
			if err := copyVersion(ctx, tx, w.name, b.scratch.Version(), w.version); err != nil {
				return err
			}
			return setRebuildTx(ctx, tx, w.name, w.version, RebuildDone, pos, pos, b.events, "")
		})
	}
	if cerr := dropOnline(context.WithoutCancel(ctx), w.r.db, b.scratch); cerr != nil {
		w.logger.Warn("projections: cannot drop the tables of an online rebuild", "error", cerr.Error())
	}
	if ctx.Err() != nil {
		return ctx.Err() // the session ends; the next holder serves the request again
	}
	if err != nil {
		w.logger.Error("projections: online rebuild failed; the live rows are unchanged", "error", err.Error())
		return w.setRebuild(ctx, RebuildFailed, 0, pos, b.events, err.Error())
	}
	w.logger.Info("projections: online rebuild switched in", "position", pos, "events", b.events)
	w.r.mu.Lock()
	w.r.generation++
	w.r.notifyLocked()
	w.r.mu.Unlock()
	return nil
}

func (w *worker) setRebuild(ctx context.Context, state string, position, target uint64, events int64, msg string) error {
	return w.r.db.InTx(ctx, func(tx *sqldb.Tx) error {
		return setRebuildTx(ctx, tx, w.name, w.version, state, position, target, events, msg)
	})
}

func setRebuildTx(ctx context.Context, tx *sqldb.Tx, name string, version int, state string, position, target uint64, events int64, msg string) error {
	var finished sql.NullTime
	if state == RebuildDone || state == RebuildFailed {
		finished = sql.NullTime{Time: time.Now().UTC(), Valid: true}
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE projection_rebuild_requests
		SET state = ?, position = ?, target = ?, events = ?, finished_at = ?, error = ? WHERE name = ? AND version = ?`),
		state, position, target, events, finished, msg, name, version)
	if err != nil {
		return fmt.Errorf("projections: record the rebuild of %s: %w", Prefix(name, version), err)
	}
	return nil
}

func dropOnline(ctx context.Context, db *sqldb.DB, scratch Projection) error {
	return db.InTx(ctx, func(tx *sqldb.Tx) error { return dropVersion(ctx, tx, scratch.Name(), scratch.Version()) })
}

// copyVersion replaces the rows of every table of version to by those of the same table of version from, in tx.
// Both versions come from the same migrations, so they have the same tables and columns.
func copyVersion(ctx context.Context, tx *sqldb.Tx, name string, from, to int) error {
	src, err := listTables(ctx, tx, tx.Dialect(), name, from)
	if err != nil {
		return err
	}
	dst, err := listTables(ctx, tx, tx.Dialect(), name, to)
	if err != nil {
		return err
	}
	if len(src) != len(dst) {
		return fmt.Errorf("projections: %s has %d tables, its rebuild %d", Prefix(name, to), len(dst), len(src))
	}
	fromPrefix, toPrefix := Prefix(name, from), Prefix(name, to)
	for i, s := range src {
		d := toPrefix + strings.TrimPrefix(s, fromPrefix)
		if dst[i] != d {
			return fmt.Errorf("projections: %s has no table %s", toPrefix, d)
		}
		cols, err := tableColumns(ctx, tx, tx.Dialect(), s)
		if err != nil {
			return err
		}
		list := strings.Join(cols, ", ")
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+d); err != nil {
			return fmt.Errorf("projections: empty %s: %w", d, err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+d+" ("+list+") SELECT "+list+" FROM "+s); err != nil {
			return fmt.Errorf("projections: copy %s into %s: %w", s, d, err)
		}
	}
	return nil
}

// tableColumns returns a table's column names.
func tableColumns(ctx context.Context, q sqlx.QueryerContext, dialect sqldb.Dialect, table string) ([]string, error) {
	var cols []string
	var err error
	if dialect == sqldb.Postgres {
		err = sqlx.SelectContext(ctx, q, &cols, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table)
	} else {
		err = sqlx.SelectContext(ctx, q, &cols, "SELECT name FROM pragma_table_info(?) ORDER BY cid", table)
	}
	if err != nil {
		return nil, fmt.Errorf("projections: columns of %s: %w", table, err)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("projections: %s has no columns", table)
	}
	return cols, nil
}
