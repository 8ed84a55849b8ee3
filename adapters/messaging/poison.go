package messaging

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Poison is an event a handler gave up on: the handler went on with the next event, and this row is what an
// operator sees of the failure. It holds identifiers and a description without personal data (see Describe), never
// the event's payload.
type Poison struct {
	Handler       string
	EventID       string
	Stream        string
	Position      uint64
	EventType     string
	CorrelationID string
	Kind          string // failure kind of the error: invalid, rule, internal, ...
	Code          string // stable machine code of the error (failure.CodeOf)
	Error         string // Describe(err)
	Attempts      int    // handler calls made for the last delivery or replay
	FailedAt      time.Time
	// Replays counts the operators' replays that failed again (a replay that succeeds removes the row).
	Replays int
	// ReplayRequestedAt is set while a replay is requested and not yet served (see RequestReplay); zero otherwise.
	ReplayRequestedAt time.Time
	// ReplayRequestedBy is who asked for that replay: an operator id or ticket reference, never a name or email.
	ReplayRequestedBy string
}

var poisonUpsert = sqldb.Upsert{
	Table: "reaction_poison",
	Columns: []string{"handler", "event_id", "stream", "position", "event_type", "correlation_id", "kind", "code",
		"error", "attempts", "failed_at"},
	Key: []string{"handler", "event_id"},
}

// recordPoison stores p; a second failure of the same event for the same handler replaces the first.
func recordPoison(ctx context.Context, db *sqldb.DB, p Poison) error {
	err := poisonUpsert.Exec(ctx, db, p.Handler, p.EventID, p.Stream, int64(p.Position), p.EventType, p.CorrelationID,
		p.Kind, p.Code, p.Error, p.Attempts, p.FailedAt.UTC())
	if err != nil {
		return fmt.Errorf("messaging: record poison event for %s: %w", p.Handler, err)
	}
	return nil
}

// poisonOf describes the failure of handler on msg.
func poisonOf(handler string, msg *message.Message, err error, attempts int, at time.Time) Poison {
	pos, _ := strconv.ParseUint(msg.Metadata.Get(MetaPosition), 10, 64)
	return Poison{
		Handler:       handler,
		EventID:       msg.Metadata.Get(MetaEventID),
		Stream:        msg.Metadata.Get(MetaStream),
		Position:      pos,
		EventType:     msg.Metadata.Get(MetaEventType),
		CorrelationID: msg.Metadata.Get(MetaCorrelationID),
		Kind:          failure.KindOf(err).String(),
		Code:          failure.CodeOf(err),
		Error:         Describe(err),
		Attempts:      attempts,
		FailedAt:      at.UTC(),
	}
}

// ListOptions filter List.
type ListOptions struct {
	Handler string // only this handler's poison events; "" for all
	Limit   int    // at most this many rows, newest first; 0 for 100
}

// List returns the poison events, newest first: what an operator looks at (dossier reactions poison).
func List(ctx context.Context, db *sqldb.DB, opts ListOptions) ([]Poison, error) {
	limit := opts.Limit
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT ` + poisonColumns + ` FROM reaction_poison`
	args := []any{}
	if opts.Handler != "" {
		q += ` WHERE handler = ?`
		args = append(args, opts.Handler)
	}
	q += ` ORDER BY failed_at DESC, handler, position DESC LIMIT ?`
	args = append(args, limit)
	r := db.Reader()
	rows, err := r.QueryxContext(ctx, r.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("messaging: list poison events: %w", err)
	}
	out, err := scanPoison(rows)
	if err != nil {
		return nil, fmt.Errorf("messaging: list poison events: %w", err)
	}
	return out, nil
}

// poisonColumns are the columns scanPoison reads, in its order.
const poisonColumns = `handler, event_id, stream, position, event_type, correlation_id, kind, code, error, attempts,
	failed_at, replays, replay_requested_at, replay_requested_by`

func scanPoison(rows *sqlx.Rows) ([]Poison, error) {
	defer rows.Close()
	var out []Poison
	for rows.Next() {
		var (
			p         Poison
			pos       int64
			requested sql.NullTime
		)
		if err := rows.Scan(&p.Handler, &p.EventID, &p.Stream, &pos, &p.EventType, &p.CorrelationID, &p.Kind, &p.Code,
			&p.Error, &p.Attempts, &p.FailedAt, &p.Replays, &requested, &p.ReplayRequestedBy); err != nil {
			return nil, err
		}
		p.Position = uint64(pos)
		p.FailedAt = p.FailedAt.UTC()
		if requested.Valid {
			p.ReplayRequestedAt = requested.Time.UTC()
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// PoisonCounts returns the number of poison events of each handler that has any.
func PoisonCounts(ctx context.Context, db *sqldb.DB) (map[string]int, error) {
	rows, err := db.Reader().QueryxContext(ctx, `SELECT handler, COUNT(*) FROM reaction_poison GROUP BY handler`)
	if err != nil {
		return nil, fmt.Errorf("messaging: count poison events: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			h string
			n int
		)
		if err := rows.Scan(&h, &n); err != nil {
			return nil, fmt.Errorf("messaging: count poison events: %w", err)
		}
		out[h] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("messaging: count poison events: %w", err)
	}
	return out, nil
}
