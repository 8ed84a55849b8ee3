package savedestimates

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/simulation"
)

// MaxRows bounds the list: the most recent MaxRows saved estimates are returned.
const MaxRows = 500

// Estimate is a saved estimate as the member saw it when saving it. Amounts are euro cents; Label is always
// simulation.Label; SavedAt is the save's business time, to the microsecond.
type Estimate struct {
	EstimateID  uuid.UUID         `json:"id"`
	SavedAt     time.Time         `json:"saved_at"`
	Label       string            `json:"label"`
	Disclaimer  string            `json:"disclaimer"`
	RatesYear   int               `json:"rates_year"`
	Status      simulation.Status `json:"status"`
	IncomeCents int64             `json:"income_cents"`
	Lines       []simulation.Line `json:"lines"`
	TotalCents  int64             `json:"total_cents"`
}

// Queries reads the live version of the projection, through its view. On SQLite it uses the read-only pool.
type Queries struct {
	db *sqlx.DB
}

// NewQueries returns the queries over db.
func NewQueries(db *sqldb.DB) *Queries { return &Queries{db: db.Reader()} }

// Estimates returns the member's saved estimates, the most recently saved first (in the order of their stream), or
// an empty list.
func (q *Queries) Estimates(ctx context.Context, memberID uuid.UUID) ([]Estimate, error) {
	var rows []struct {
		EstimateID  string    `db:"estimate_id"`
		SavedAt     time.Time `db:"saved_at"`
		RatesYear   int       `db:"rates_year"`
		Status      string    `db:"status"`
		IncomeCents int64     `db:"income_cents"`
		TotalCents  int64     `db:"total_cents"`
		Lines       string    `db:"lines"`
		Disclaimer  string    `db:"disclaimer"`
	}
	err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT estimate_id, saved_at, rates_year, status, "+
		"income_cents, total_cents, lines, disclaimer FROM "+Name+" WHERE member_id = ? ORDER BY revision DESC LIMIT ?"),
		memberID.String(), MaxRows)
	if err != nil {
		return nil, fmt.Errorf("savedestimates: estimates: %w", err)
	}
	out := make([]Estimate, len(rows))
	for i, r := range rows {
		id, err := uuid.Parse(r.EstimateID)
		if err != nil {
			return nil, fmt.Errorf("savedestimates: estimate id %q: %w", r.EstimateID, err)
		}
		lines := []simulation.Line{}
		if err := json.Unmarshal([]byte(r.Lines), &lines); err != nil {
			return nil, fmt.Errorf("savedestimates: lines of estimate %s: %w", id, err)
		}
		out[i] = Estimate{EstimateID: id, SavedAt: r.SavedAt.UTC(), Label: simulation.Label, Disclaimer: r.Disclaimer,
			RatesYear: r.RatesYear, Status: simulation.Status(r.Status), IncomeCents: r.IncomeCents, Lines: lines,
			TotalCents: r.TotalCents}
	}
	return out, nil
}
