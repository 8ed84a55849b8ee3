package streamactivity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// ErrNotFound is returned by Get for a stream the projection has not seen (yet).
var ErrNotFound = failure.New(failure.NotFound, "streamactivity.not_found", "no activity recorded for this stream")

// MaxLimit bounds ListByCategory.
const MaxLimit = 1000

// Activity is what the projection knows of one stream.
type Activity struct {
	Stream        string `db:"stream" json:"stream"`
	Category      string `db:"category" json:"category"`
	LastRevision  uint64 `db:"last_revision" json:"last_revision"`
	LastEventType string `db:"last_event_type" json:"last_event_type"`
	// EventCount is the number of events appended to the stream: its last revision plus one.
	EventCount      int64     `db:"event_count" json:"event_count"`
	FirstRecordedAt time.Time `db:"first_recorded_at" json:"first_recorded_at"`
	LastRecordedAt  time.Time `db:"last_recorded_at" json:"last_recorded_at"`
	LastPosition    uint64    `db:"last_position" json:"last_position"`
}

// Queries reads the live version of the projection, through its view. On SQLite it uses the read-only pool, so a
// read never waits behind the runner's batch.
type Queries struct {
	db *sqlx.DB
}

// NewQueries returns the queries over db.
func NewQueries(db *sqldb.DB) *Queries { return &Queries{db: db.Reader()} }

const selectActivity = "SELECT stream, category, last_revision, last_event_type, event_count, first_recorded_at, " +
	"last_recorded_at, last_position FROM " + Name

// Get returns the activity of stream, or an error wrapping ErrNotFound.
func (q *Queries) Get(ctx context.Context, stream event.StreamID) (Activity, error) {
	var a Activity
	err := sqlx.GetContext(ctx, q.db, &a, q.db.Rebind(selectActivity+" WHERE stream = ?"), stream.String())
	if errors.Is(err, sql.ErrNoRows) {
		return Activity{}, fmt.Errorf("streamactivity: %s: %w", stream, ErrNotFound)
	}
	if err != nil {
		return Activity{}, fmt.Errorf("streamactivity: get %s: %w", stream, err)
	}
	return normalize(a), nil
}

// ListByCategory returns up to limit streams of category (1 to MaxLimit; 0 means 100), the most recently active
// first.
func (q *Queries) ListByCategory(ctx context.Context, category string, limit int) ([]Activity, error) {
	if limit == 0 {
		limit = 100
	}
	if limit < 0 || limit > MaxLimit {
		return nil, failure.New(failure.Invalid, "streamactivity.invalid_limit",
			fmt.Sprintf("limit must be between 1 and %d", MaxLimit))
	}
	var out []Activity
	if err := sqlx.SelectContext(ctx, q.db, &out, q.db.Rebind(selectActivity+
		" WHERE category = ? ORDER BY last_position DESC LIMIT ?"), category, limit); err != nil {
		return nil, fmt.Errorf("streamactivity: list %s: %w", category, err)
	}
	for i := range out {
		out[i] = normalize(out[i])
	}
	return out, nil
}

// normalize gives times the same location on both dialects.
func normalize(a Activity) Activity {
	a.FirstRecordedAt, a.LastRecordedAt = a.FirstRecordedAt.UTC(), a.LastRecordedAt.UTC()
	return a
}
