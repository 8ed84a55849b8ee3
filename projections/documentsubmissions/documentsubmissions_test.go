package documentsubmissions

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

var start = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func blobKey(n byte) string { return strings.Repeat(string("0123456789abcdef"[n%16]), 64) }

func submitted(subject string, request uuid.UUID, key byte) document.Submitted {
	id := uuid.New()
	return document.Submitted{SubmissionID: id, Reference: document.Reference(id), ListsVersion: "2026.1",
		Subject: subject, RequestID: request, AttestedAt: start,
		Documents: []document.Document{{Nature: "tax_notice", Files: []document.File{
			{Type: document.TypePDF, Size: 1200, SHA256: strings.Repeat("a", 64), BlobKey: blobKey(key), StoredSize: 1228}}}},
		Details: []document.Detail{{Person: "Jeanne Martin", Reason: "Avis 2025 demandé", FileNames: []string{"avis.pdf"}}}}
}

// history is one member's deposits: one to the intake queue then attached to a case, one for a request's case file.
func history(pos *uint64) (*projectionstest.History, []document.Submitted, uuid.UUID) {
	h := projectionstest.NewHistory(document.Category, pos, start)
	caseID := uuid.New()
	a := submitted(document.SubjectOther, uuid.Nil, 1)
	b := submitted(document.SubjectSupportingDocuments, caseID, 2)
	h.Add(document.TypeSubmitted, a)
	h.Add(document.TypeRegistered, document.Registered{SubmissionID: a.SubmissionID, Disposition: document.DispositionIntake})
	h.Add(document.TypeSubmitted, b)
	h.Add(document.TypeRegistered, document.Registered{SubmissionID: b.SubmissionID, Disposition: document.DispositionCaseFile, RequestID: caseID})
	h.Add(document.TypeAttached, document.Attached{SubmissionID: a.SubmissionID, RequestID: caseID})
	return h, []document.Submitted{a, b}, caseID
}

func dumpVersion(t *testing.T, db *sqldb.DB) func(int) []string {
	return func(v int) []string { return projectionstest.DumpVersion(t, db, Name, v, "_files") }
}

func TestDepositsListCaseAndIntake(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h, subs, caseID := history(&pos)
		other, otherSubs, _ := history(&pos)
		projectionstest.Apply(t, db, p, h.Events[:2]...)
		q := NewQueries(db)
		ctx := projectionstest.Ctx(t)
		intake, next, err := q.Intake(ctx, projections.Page{Limit: 10})
		if err != nil || len(intake) != 1 || intake[0].ID != subs[0].SubmissionID || next != "" {
			t.Fatalf("intake %+v %q, %v", intake, next, err)
		}
		// Two waiting deposits, one a page: each seen once, the oldest first.
		projectionstest.Apply(t, db, p, other.Events[:2]...)
		whole, _, err := q.Intake(ctx, projections.Page{})
		if err != nil || len(whole) != 2 {
			t.Fatalf("intake of two %+v, %v", whole, err)
		}
		first, next, err := q.Intake(ctx, projections.Page{Limit: 1})
		if err != nil || len(first) != 1 || first[0].ID != whole[0].ID || next == "" {
			t.Fatalf("intake, first page %+v %q, %v", first, next, err)
		}
		second, next, err := q.Intake(ctx, projections.Page{Limit: 1, After: next})
		if err != nil || len(second) != 1 || second[0].ID != whole[1].ID || next != "" {
			t.Fatalf("intake, second page %+v %q, %v", second, next, err)
		}
		projectionstest.Apply(t, db, p, h.Events[2:]...)
		projectionstest.Apply(t, db, p, other.Events[2:]...)
		if intake, _, _ := q.Intake(ctx, projections.Page{}); len(intake) != 0 {
			t.Fatalf("attached deposits still in the intake queue: %+v", intake)
		}
		page, next, err := q.List(ctx, h.Stream.ID, projections.Page{Limit: 1})
		if err != nil || len(page) != 1 || page[0].ID != subs[1].SubmissionID || next == "" {
			t.Fatalf("first page %+v %q, %v", page, next, err)
		}
		page, next, err = q.List(ctx, h.Stream.ID, projections.Page{Limit: 1, After: next})
		if err != nil || len(page) != 1 || page[0].ID != subs[0].SubmissionID || next != "" {
			t.Fatalf("second page %+v %q, %v", page, next, err)
		}
		d := page[0]
		if d.Status != document.StatusRegistered || d.Disposition != document.DispositionCaseFile || d.CaseID == nil ||
			*d.CaseID != caseID || d.Documents[0].Person != "Jeanne Martin" || d.Documents[0].Files[0].Name != "avis.pdf" {
			t.Errorf("attached deposit %+v", d)
		}
		if _, err := q.Get(ctx, h.Stream.ID, otherSubs[0].SubmissionID); err != ErrNotFound {
			t.Errorf("another member's deposit: %v, want ErrNotFound", err)
		}
		ofCase, err := q.OfCase(ctx, caseID)
		if err != nil || len(ofCase) != 2 {
			t.Fatalf("case documents %+v, %v", ofCase, err)
		}
		// A case's documents by pages, the oldest first: the same deposits, each once.
		first, next, err = q.CasePage(ctx, caseID, projections.Page{Limit: 1})
		if err != nil || len(first) != 1 || first[0].ID != ofCase[0].ID || next == "" {
			t.Fatalf("case documents, first page %+v %q, %v", first, next, err)
		}
		second, next, err = q.CasePage(ctx, caseID, projections.Page{Limit: 1, After: next})
		if err != nil || len(second) != 1 || second[0].ID != ofCase[1].ID || next != "" {
			t.Fatalf("case documents, second page %+v %q, %v", second, next, err)
		}
		if others, _, err := q.CasePage(ctx, uuid.New(), projections.Page{}); err != nil || len(others) != 0 {
			t.Errorf("another case's documents: %+v, %v", others, err)
		}
		f, err := q.File(ctx, subs[1].SubmissionID, 0, 0)
		if err != nil || f.BlobKey != blobKey(2) || f.MemberID != h.Stream.ID || f.Type != document.TypePDF {
			t.Errorf("file %+v, %v", f, err)
		}
		refs, err := q.Referenced(ctx, []string{blobKey(1), blobKey(2), blobKey(9)})
		if err != nil || !refs[blobKey(1)] || !refs[blobKey(2)] || refs[blobKey(9)] {
			t.Errorf("referenced %v, %v", refs, err)
		}
		for _, bad := range []string{"!", projections.EncodeCursor("a", "b"), projections.EncodeCursor("-1"), projections.EncodeCursor("x")} {
			if _, _, err := q.List(ctx, h.Stream.ID, projections.Page{After: bad}); !errors.Is(err, projections.ErrInvalidCursor) {
				t.Errorf("deposits after cursor %q: %v", bad, err)
			}
			if _, _, err := q.Intake(ctx, projections.Page{After: bad}); !errors.Is(err, projections.ErrInvalidCursor) {
				t.Errorf("intake after cursor %q: %v", bad, err)
			}
		}
	})
}

func TestReplaysAndRebuild(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		var pos uint64
		h, _, _ := history(&pos)
		ref := projectionstest.Setup(t, db, &Projection{Meta: meta.At(Version + 10)})
		projectionstest.Apply(t, db, ref, h.Events...)
		want := dumpVersion(t, db)(Version + 10)
		if len(want) != 4 {
			t.Fatalf("rows %q", want)
		}
		live := projectionstest.Setup(t, db, New())
		projectionstest.ReplaysAndRebuild(t, db, live, &Projection{Meta: meta.At(Version + 1)}, h.Events, want,
			func(p projections.Projection, batch ...event.Envelope) { projectionstest.Apply(t, db, p, batch...) },
			dumpVersion(t, db))
	})
}

func TestErasureWritesOverThePersonalTexts(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h, _, _ := history(&pos)
		projectionstest.Apply(t, db, p, h.Events...)
		erasure := event.Envelope{Stream: event.NewStreamID(member.Category, h.Stream.ID), Position: pos + 10,
			Type: member.TypeDataErased, Event: member.DataErased{}, Metadata: event.Metadata{OccurredAt: start}}
		projectionstest.Apply(t, db, p, erasure)
		rows := slices.Collect(slices.Values(dumpVersion(t, db)(Version)))
		projectionstest.AssertErased(t, rows, "Jeanne Martin", "Avis 2025", "avis.pdf")
	})
}
