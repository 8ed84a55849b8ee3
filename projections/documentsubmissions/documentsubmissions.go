// Package documentsubmissions is the read model of members' deposits of documents: a member's list and each
// deposit (GET /v1/document-submissions), the intake queue and a case's documents for staff, and which blobs a
// recorded deposit references (the orphan sweeper's question).
//
// It folds the documentsubmissions streams through document.State (the one fold): each row is loaded into a
// document.Deposit, the event applied, and the row written back guarded by the stream revision, so a replay changes
// nothing. A member's erasure (member.DataErased) writes "données effacées" over the personal texts at once.
package documentsubmissions

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the view readers query.
const Name = "documentsubmissions"

// Version is the current version of the projection. Bump it when the schema or the folding changes.
const Version = 1

//go:embed migrations/*.sql
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection folds documentsubmissions events. It is stateless and safe for concurrent use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

// File is one file of a deposited document as the API shows it.
type File struct {
	Index  int    `json:"index"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Document is one deposited document as the API shows it.
type Document struct {
	Index  int    `json:"index"`
	Nature string `json:"nature"`
	Person string `json:"person"`
	Reason string `json:"reason"`
	Files  []File `json:"files"`
}

// documentsOf merges a deposit's documents and their personal details.
func documentsOf(s document.Submitted) []Document {
	out := make([]Document, len(s.Documents))
	for i, d := range s.Documents {
		var det document.Detail
		if i < len(s.Details) {
			det = s.Details[i]
		}
		out[i] = Document{Index: i, Nature: d.Nature, Person: det.Person, Reason: det.Reason, Files: make([]File, len(d.Files))}
		for j, f := range d.Files {
			name := ""
			if j < len(det.FileNames) {
				name = det.FileNames[j]
			}
			out[i].Files[j] = File{Index: j, Name: name, Type: f.Type, Size: f.Size, SHA256: f.SHA256}
		}
	}
	return out
}

var columns = []string{"submission_id", "member_id", "revision", "seq", "reference", "subject", "request_id", "lists_version",
	"status", "disposition", "case_id", "submitted_at", "attested_at", "registered_at", "documents"}

var fileColumns = []string{"blob_key", "submission_id", "member_id", "document_index", "file_index", "media_type", "size"}

// row is a stored deposit.
type row struct {
	SubmissionID string     `db:"submission_id"`
	MemberID     string     `db:"member_id"`
	Revision     int64      `db:"revision"`
	Seq          int64      `db:"seq"`
	Reference    string     `db:"reference"`
	Subject      string     `db:"subject"`
	RequestID    string     `db:"request_id"`
	ListsVersion string     `db:"lists_version"`
	Status       string     `db:"status"`
	Disposition  string     `db:"disposition"`
	CaseID       string     `db:"case_id"`
	SubmittedAt  time.Time  `db:"submitted_at"`
	AttestedAt   time.Time  `db:"attested_at"`
	RegisteredAt *time.Time `db:"registered_at"`
	Documents    string     `db:"documents"`
}

func idText(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

func parseID(s string) uuid.UUID {
	id, _ := uuid.Parse(s)
	return id
}

func usec(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Apply folds the batch: each deposit event through document.State, and member erasures.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	table := p.Table()
	upsert := projections.GuardedUpsert(table, []string{"submission_id"}, columns, "revision")
	files := sqldb.Upsert{Table: table + "_files", Columns: fileColumns, Key: []string{"blob_key"}, Update: []string{}}
	for _, e := range batch {
		if e.Stream.Category != document.Category {
			continue
		}
		var id uuid.UUID
		switch v := e.Event.(type) {
		case document.Submitted:
			id = v.SubmissionID
		case document.Registered:
			id = v.SubmissionID
		case document.Attached:
			id = v.SubmissionID
		default:
			continue
		}
		st, seq, err := p.load(ctx, tx, id)
		if err != nil {
			return err
		}
		st.Apply(e.Event, e.Metadata.OccurredAt)
		d := st.Deposits[id]
		if d == nil {
			continue // an event about a deposit the stream never submitted
		}
		if sub, ok := e.Event.(document.Submitted); ok {
			seq = int64(e.Revision)
			for i, doc := range sub.Documents {
				for j, f := range doc.Files {
					if err := files.Exec(ctx, tx, f.BlobKey, id.String(), e.Stream.ID.String(), i, j, f.Type, f.Size); err != nil {
						return fmt.Errorf("documentsubmissions: %s at %s@%d: %w", e.Type, e.Stream, e.Revision, err)
					}
				}
			}
		}
		docs, err := json.Marshal(documentsOf(d.Submitted))
		if err != nil {
			return err
		}
		var registered *time.Time
		if !d.RegisteredAt.IsZero() {
			t := usec(d.RegisteredAt)
			registered = &t
		}
		if err := upsert.Exec(ctx, tx, id.String(), e.Stream.ID.String(), int64(e.Revision), seq, d.Reference, d.Subject,
			idText(d.RequestID), d.ListsVersion, d.Status, d.Disposition, idText(d.CaseID), usec(d.SubmittedAt),
			usec(d.AttestedAt), registered, string(docs)); err != nil {
			return fmt.Errorf("documentsubmissions: %s at %s@%d: %w", e.Type, e.Stream, e.Revision, err)
		}
	}
	return projections.EachErasedMember(batch, func(memberID uuid.UUID) error { return p.erase(ctx, tx, memberID) })
}

// load reads deposit id's row into a State holding it (an empty State when there is none).
func (p *Projection) load(ctx context.Context, tx *sqldb.Tx, id uuid.UUID) (document.State, int64, error) {
	var rows []row
	if err := tx.SelectContext(ctx, &rows, tx.Rebind("SELECT * FROM "+p.Table()+" WHERE submission_id = ?"), id.String()); err != nil {
		return document.State{}, 0, fmt.Errorf("documentsubmissions: load %s: %w", id, err)
	}
	st := document.State{Deposits: map[uuid.UUID]*document.Deposit{}}
	if len(rows) == 0 {
		return st, 0, nil
	}
	d, err := rows[0].deposit()
	if err != nil {
		return st, 0, err
	}
	st.Deposits[id] = d
	st.Order = []uuid.UUID{id}
	return st, rows[0].Seq, nil
}

// deposit turns a row back into the fold's state.
func (r row) deposit() (*document.Deposit, error) {
	var docs []Document
	if err := json.Unmarshal([]byte(r.Documents), &docs); err != nil {
		return nil, fmt.Errorf("documentsubmissions: documents of %s: %w", r.SubmissionID, err)
	}
	sub := document.Submitted{SubmissionID: parseID(r.SubmissionID), Reference: r.Reference, ListsVersion: r.ListsVersion,
		Subject: r.Subject, RequestID: parseID(r.RequestID), AttestedAt: r.AttestedAt.UTC()}
	for _, d := range docs {
		doc := document.Document{Nature: d.Nature}
		det := document.Detail{Person: d.Person, Reason: d.Reason}
		for _, f := range d.Files {
			doc.Files = append(doc.Files, document.File{Type: f.Type, Size: f.Size, SHA256: f.SHA256})
			det.FileNames = append(det.FileNames, f.Name)
		}
		sub.Documents = append(sub.Documents, doc)
		sub.Details = append(sub.Details, det)
	}
	d := &document.Deposit{Submitted: sub, SubmittedAt: r.SubmittedAt.UTC(), Status: r.Status, Disposition: r.Disposition,
		CaseID: parseID(r.CaseID)}
	if r.RegisteredAt != nil {
		d.RegisteredAt = r.RegisteredAt.UTC()
	}
	return d, nil
}

// erase writes "données effacées" over the personal texts of memberID's deposits.
func (p *Projection) erase(ctx context.Context, tx *sqldb.Tx, memberID uuid.UUID) error {
	var rows []row
	if err := tx.SelectContext(ctx, &rows, tx.Rebind("SELECT * FROM "+p.Table()+" WHERE member_id = ?"), memberID.String()); err != nil {
		return fmt.Errorf("documentsubmissions: erase: %w", err)
	}
	update := tx.Rebind("UPDATE " + p.Table() + " SET documents = ? WHERE submission_id = ?")
	for _, r := range rows {
		var docs []Document
		if err := json.Unmarshal([]byte(r.Documents), &docs); err != nil {
			return fmt.Errorf("documentsubmissions: documents of %s: %w", r.SubmissionID, err)
		}
		for i := range docs {
			docs[i].Person, docs[i].Reason = projections.Erase(docs[i].Person), projections.Erase(docs[i].Reason)
			for j := range docs[i].Files {
				docs[i].Files[j].Name = projections.Erase(docs[i].Files[j].Name)
			}
		}
		raw, err := json.Marshal(docs)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, update, string(raw), r.SubmissionID); err != nil {
			return fmt.Errorf("documentsubmissions: erase: %w", err)
		}
	}
	return nil
}
