// Package memberdocuments is the read model of the members' inboxes (GET /v1/documents): the documents the fund
// published to each member, newest first, with when each was opened and notified, and which blobs they reference
// (the orphan sweeper's question).
//
// It folds the inbox streams through inbox.State (the one fold): a row is loaded into an inbox.Document, the event
// applied, and the row written back guarded by the stream revision, so a replay changes nothing. A member's erasure
// (member.DataErased) writes "données effacées" over the titles and file names at once.
package memberdocuments

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/inbox"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the view readers query.
const Name = "memberdocuments"

// Version is the current version of the projection. Bump it when the schema or the folding changes.
const Version = 1

//go:embed migrations/*.sql
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection folds the inbox events. It is stateless and safe for concurrent use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

var columns = []string{"document_id", "member_id", "revision", "seq", "kind", "source_id", "title", "file_name",
	"content_type", "size", "sha256", "blob_key", "published_at", "opened_at", "notified_at", "deemed"}

// row is a stored document.
type row struct {
	DocumentID  string     `db:"document_id"`
	MemberID    string     `db:"member_id"`
	Revision    int64      `db:"revision"`
	Seq         int64      `db:"seq"`
	Kind        string     `db:"kind"`
	SourceID    string     `db:"source_id"`
	Title       string     `db:"title"`
	FileName    string     `db:"file_name"`
	ContentType string     `db:"content_type"`
	Size        int64      `db:"size"`
	SHA256      string     `db:"sha256"`
	BlobKey     string     `db:"blob_key"`
	PublishedAt time.Time  `db:"published_at"`
	OpenedAt    *time.Time `db:"opened_at"`
	NotifiedAt  *time.Time `db:"notified_at"`
	Deemed      int        `db:"deemed"`
}

func usec(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := usec(t)
	return &u
}

func parseID(s string) uuid.UUID {
	id, _ := uuid.Parse(s)
	return id
}

// documentOf is the event's document id, for the inbox events.
func documentOf(e any) (uuid.UUID, bool) {
	switch v := e.(type) {
	case inbox.Published:
		return v.DocumentID, true
	case inbox.Opened:
		return v.DocumentID, true
	case inbox.DeemedNotified:
		return v.DocumentID, true
	}
	return uuid.Nil, false
}

// Apply folds the batch: each inbox event through inbox.State, and member erasures.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	upsert := projections.GuardedUpsert(p.Table(), []string{"document_id"}, columns, "revision")
	for _, e := range batch {
		if e.Stream.Category != inbox.Category {
			continue
		}
		id, ok := documentOf(e.Event)
		if !ok {
			continue
		}
		st, seq, err := p.load(ctx, tx, id)
		if err != nil {
			return err
		}
		st.Apply(e.Event, e.Metadata.OccurredAt)
		d := st.Documents[id]
		if d == nil {
			continue // an event about a document the stream never published
		}
		if _, ok := e.Event.(inbox.Published); ok {
			seq = int64(e.Revision)
		}
		deemed := 0
		if d.Deemed {
			deemed = 1
		}
		if err := upsert.Exec(ctx, tx, id.String(), e.Stream.ID.String(), int64(e.Revision), seq, d.Kind,
			d.SourceID.String(), d.Title, d.FileName, d.ContentType, d.Size, d.SHA256, d.BlobKey, usec(d.PublishedAt),
			optTime(d.OpenedAt), optTime(d.NotifiedAt), deemed); err != nil {
			return fmt.Errorf("memberdocuments: %s at %s@%d: %w", e.Type, e.Stream, e.Revision, err)
		}
	}
	return projections.EachErasedMember(batch, func(memberID uuid.UUID) error {
		_, err := tx.ExecContext(ctx, tx.Rebind("UPDATE "+p.Table()+" SET title = ?, file_name = ? WHERE member_id = ?"),
			event.ErasedText, event.ErasedText, memberID.String())
		return err
	})
}

// load reads document id's row into a State holding it (an empty State when there is none), with its seq.
func (p *Projection) load(ctx context.Context, tx *sqldb.Tx, id uuid.UUID) (inbox.State, int64, error) {
	var rows []row
	if err := tx.SelectContext(ctx, &rows, tx.Rebind("SELECT * FROM "+p.Table()+" WHERE document_id = ?"), id.String()); err != nil {
		return inbox.State{}, 0, fmt.Errorf("memberdocuments: load %s: %w", id, err)
	}
	st := inbox.State{Documents: map[uuid.UUID]*inbox.Document{}}
	if len(rows) == 0 {
		return st, 0, nil
	}
	st.Documents[id] = rows[0].document()
	st.Order = []uuid.UUID{id}
	return st, rows[0].Seq, nil
}

// document turns a row back into the fold's state.
func (r row) document() *inbox.Document {
	d := &inbox.Document{Published: inbox.Published{DocumentID: parseID(r.DocumentID), Kind: r.Kind,
		SourceID: parseID(r.SourceID), Title: r.Title, FileName: r.FileName, ContentType: r.ContentType, Size: r.Size,
		SHA256: r.SHA256, BlobKey: r.BlobKey}, PublishedAt: r.PublishedAt.UTC(), Deemed: r.Deemed != 0}
	if r.OpenedAt != nil {
		d.OpenedAt = r.OpenedAt.UTC()
	}
	if r.NotifiedAt != nil {
		d.NotifiedAt = r.NotifiedAt.UTC()
	}
	return d
}
