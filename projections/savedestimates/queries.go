package savedestimates

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/simulation"
	"github.com/msa-dossier/dossier/projections"
)

// MaxRows is the largest page of saved estimates.
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

// DefaultLimit is the page size of Estimates when the caller names none.
const DefaultLimit = 50

// Estimates returns a page of the member's saved estimates (projections.Page; DefaultLimit for 0, MaxRows at most),
// the most recently saved first (in the order of their stream), or an empty list, and the cursor of the next page
// ("" after the last).
func (q *Queries) Estimates(ctx context.Context, memberID uuid.UUID, p projections.Page) ([]Estimate, string, error) {
	n := min(p.Limit1(DefaultLimit)-1, MaxRows)
	cond, args := "", []any{memberID.String()}
	if p.After != "" {
		key, err := projections.DecodeCursor(p.After, 1)
		if err != nil {
			return nil, "", err
		}
		rev, err := strconv.ParseInt(key[0], 10, 64)
		if err != nil {
			return nil, "", projections.ErrInvalidCursor
		}
		cond, args = " AND revision < ?", append(args, rev)
	}
	var rows []struct {
		Revision    int64     `db:"revision"`
		EstimateID  string    `db:"estimate_id"`
		SavedAt     time.Time `db:"saved_at"`
		RatesYear   int       `db:"rates_year"`
		Status      string    `db:"status"`
		IncomeCents int64     `db:"income_cents"`
		TotalCents  int64     `db:"total_cents"`
		Lines       string    `db:"lines"`
		Disclaimer  string    `db:"disclaimer"`
	}
	err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT revision, estimate_id, saved_at, rates_year, status, "+
		"income_cents, total_cents, lines, disclaimer FROM "+Name+" WHERE member_id = ?"+cond+" ORDER BY revision DESC LIMIT ?"),
		append(args, n+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("savedestimates: estimates: %w", err)
	}
	next := ""
	if len(rows) > n {
		rows = rows[:n]
		next = projections.EncodeCursor(strconv.FormatInt(rows[n-1].Revision, 10))
	}
	out := make([]Estimate, len(rows))
	for i, r := range rows {
		id, err := uuid.Parse(r.EstimateID)
		if err != nil {
			return nil, "", fmt.Errorf("savedestimates: estimate id %q: %w", r.EstimateID, err)
		}
		lines := []simulation.Line{}
		if err := json.Unmarshal([]byte(r.Lines), &lines); err != nil {
			return nil, "", fmt.Errorf("savedestimates: lines of estimate %s: %w", id, err)
		}
		out[i] = Estimate{EstimateID: id, SavedAt: r.SavedAt.UTC(), Label: simulation.Label, Disclaimer: r.Disclaimer,
			RatesYear: r.RatesYear, Status: simulation.Status(r.Status), IncomeCents: r.IncomeCents, Lines: lines,
			TotalCents: r.TotalCents}
	}
	return out, next, nil
}
