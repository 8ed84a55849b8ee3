package memberdocuments

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/inbox"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/blobrefs"
)

// The paging of a member's documents (the one convention, projections.Page).
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// InboxDocument is a published document as the API shows it. NotifiedAt is the first opening, or the deemed
// notification (Deemed) 15 days after it was made available; nil until either.
type InboxDocument struct {
	ID          uuid.UUID  `json:"id"`
	Kind        string     `json:"kind"`
	Title       string     `json:"title"`
	FileName    string     `json:"file_name"`
	ContentType string     `json:"content_type"`
	Size        int64      `json:"size"`
	SHA256      string     `json:"sha256"`
	PublishedAt time.Time  `json:"published_at"`
	OpenedAt    *time.Time `json:"opened_at"`
	NotifiedAt  *time.Time `json:"notified_at"`
	Deemed      bool       `json:"deemed_notified"`
	// DeemedAt is when an unopened document is deemed notified.
	DeemedAt time.Time `json:"deemed_notified_at"`
	MemberID uuid.UUID `json:"-"`
	BlobKey  string    `json:"-"`
}

// Queries reads the live version of the projection. On SQLite it uses the read-only pool.
type Queries struct {
	db *sqlx.DB
}

// NewQueries returns the queries over db.
func NewQueries(db *sqldb.DB) *Queries { return &Queries{db: db.Reader()} }

func (r row) view() InboxDocument {
	d := r.document()
	return InboxDocument{ID: d.DocumentID, Kind: d.Kind, Title: d.Title, FileName: d.FileName, ContentType: d.ContentType,
		Size: d.Size, SHA256: d.SHA256, PublishedAt: d.PublishedAt, OpenedAt: r.OpenedAt, NotifiedAt: r.NotifiedAt,
		Deemed: d.Deemed, DeemedAt: inbox.DeemedAt(d.PublishedAt), MemberID: parseID(r.MemberID), BlobKey: d.BlobKey}
}

// List returns one page of member memberID's documents, the newest first, the cursor of the next page ("" at the
// end) and how many of all the member's documents were never opened.
func (q *Queries) List(ctx context.Context, memberID uuid.UUID, p projections.Page) ([]InboxDocument, string, int, error) {
	n := p.Limit1(DefaultLimit) - 1
	cond, args := "", []any{memberID.String()}
	if p.After != "" {
		key, err := projections.DecodeCursor(p.After, 1)
		if err != nil {
			return nil, "", 0, err
		}
		seq, err := strconv.ParseInt(key[0], 10, 64)
		if err != nil {
			return nil, "", 0, projections.ErrInvalidCursor
		}
		cond, args = " AND seq < ?", append(args, seq)
	}
	var rows []row
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT * FROM "+Name+" WHERE member_id = ?"+cond+
		" ORDER BY seq DESC LIMIT ?"), append(args, n+1)...); err != nil {
		return nil, "", 0, fmt.Errorf("memberdocuments: list: %w", err)
	}
	rows, next := projections.Trim(rows, p, DefaultLimit, func(r row) string {
		return projections.EncodeCursor(strconv.FormatInt(r.Seq, 10))
	})
	var unread int
	if err := sqlx.GetContext(ctx, q.db, &unread, q.db.Rebind("SELECT COUNT(*) FROM "+Name+
		" WHERE member_id = ? AND opened_at IS NULL"), memberID.String()); err != nil {
		return nil, "", 0, fmt.Errorf("memberdocuments: unread: %w", err)
	}
	out := make([]InboxDocument, len(rows))
	for i, r := range rows {
		out[i] = r.view()
	}
	return out, next, unread, nil
}

// Get returns document id of member memberID; another member's is inbox.ErrNotFound.
func (q *Queries) Get(ctx context.Context, memberID, id uuid.UUID) (InboxDocument, error) {
	var rows []row
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind("SELECT * FROM "+Name+
		" WHERE document_id = ? AND member_id = ?"), id.String(), memberID.String()); err != nil {
		return InboxDocument{}, fmt.Errorf("memberdocuments: get: %w", err)
	}
	if len(rows) == 0 {
		return InboxDocument{}, inbox.ErrNotFound
	}
	return rows[0].view(), nil
}

// Referenced reports which of keys a published document references (blobstore.Referenced).
func (q *Queries) Referenced(ctx context.Context, keys []string) (map[string]bool, error) {
	out, err := blobrefs.In(ctx, q.db, Name, keys)
	if err != nil {
		return nil, fmt.Errorf("memberdocuments: referenced: %w", err)
	}
	return out, nil
}
