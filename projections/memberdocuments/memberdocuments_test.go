package memberdocuments

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/inbox"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

var start = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func blobKey(n byte) string { return strings.Repeat(string("0123456789abcdef"[n%16]), 64) }

func published(kind string, key byte) inbox.Published {
	return inbox.Published{DocumentID: uuid.New(), Kind: kind, SourceID: uuid.New(), Title: "Décision sur votre demande",
		FileName: "decision-jeanne-martin.pdf", ContentType: "application/pdf", Size: 2000,
		SHA256: strings.Repeat("a", 64), BlobKey: blobKey(key), StoredSize: 2028}
}

// history is one member's inbox: a letter opened (twice: the second changes nothing), an attestation deemed
// notified, and an external document never opened.
func history(pos *uint64) (*projectionstest.History, []inbox.Published) {
	h := projectionstest.NewHistory(inbox.Category, pos, start)
	a, b, c := published(inbox.KindDecisionLetter, 1), published(inbox.KindPaymentAttestation, 2), published(inbox.KindExternal, 3)
	h.Add(inbox.TypePublished, a)
	h.Add(inbox.TypePublished, b)
	h.Add(inbox.TypeOpened, inbox.Opened{DocumentID: a.DocumentID})
	h.Add(inbox.TypeDeemedNotified, inbox.DeemedNotified{DocumentID: b.DocumentID, NotifiedAt: start.Add(inbox.DeemedAfter)})
	h.Add(inbox.TypePublished, c)
	h.Add(inbox.TypeOpened, inbox.Opened{DocumentID: a.DocumentID})
	return h, []inbox.Published{a, b, c}
}

func dumpVersion(t *testing.T, db *sqldb.DB) func(int) []string {
	return func(v int) []string { return projectionstest.DumpVersion(t, db, Name, v) }
}

func TestInboxListOpenedDeemedAndOwnOnly(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		h, docs := history(&pos)
		other, otherDocs := history(&pos)
		projectionstest.Apply(t, db, p, h.Events...)
		projectionstest.Apply(t, db, p, other.Events...)
		q := NewQueries(db)
		ctx := projectionstest.Ctx(t)
		page, next, unread, err := q.List(ctx, h.Stream.ID, projections.Page{Limit: 2})
		if err != nil || len(page) != 2 || page[0].ID != docs[2].DocumentID || page[1].ID != docs[1].DocumentID || next == "" {
			t.Fatalf("first page %+v, %q, %v", page, next, err)
		}
		if unread != 2 {
			t.Errorf("unread = %d, want 2 (the attestation deemed notified and the external one)", unread)
		}
		page, next, _, err = q.List(ctx, h.Stream.ID, projections.Page{Limit: 2, After: next})
		if err != nil || len(page) != 1 || page[0].ID != docs[0].DocumentID || next != "" {
			t.Fatalf("second page %+v, %q, %v", page, next, err)
		}
		letter := page[0]
		opened := start.Add(2 * time.Minute) // the first opening, not the second
		if letter.OpenedAt == nil || !letter.OpenedAt.Equal(opened) || letter.NotifiedAt == nil ||
			!letter.NotifiedAt.Equal(opened) || letter.Deemed || letter.Title != "Décision sur votre demande" {
			t.Errorf("opened letter %+v", letter)
		}
		att, err := q.Get(ctx, h.Stream.ID, docs[1].DocumentID)
		if err != nil || att.OpenedAt != nil || !att.Deemed || att.NotifiedAt == nil ||
			!att.NotifiedAt.Equal(start.Add(inbox.DeemedAfter)) {
			t.Errorf("deemed attestation %+v, %v", att, err)
		}
		if _, err := q.Get(ctx, h.Stream.ID, otherDocs[0].DocumentID); err != inbox.ErrNotFound {
			t.Errorf("another member's document: %v, want inbox.ErrNotFound", err)
		}
		refs, err := q.Referenced(ctx, []string{blobKey(1), blobKey(3), blobKey(9)})
		if err != nil || !refs[blobKey(1)] || !refs[blobKey(3)] || refs[blobKey(9)] {
			t.Errorf("referenced %v, %v", refs, err)
		}
		if _, _, _, err := q.List(ctx, h.Stream.ID, projections.Page{Limit: 2, After: "%%"}); err != projections.ErrInvalidCursor {
			t.Errorf("bad cursor: %v", err)
		}
	})
}

func TestReplaysAndRebuild(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		var pos uint64
		h, _ := history(&pos)
		ref := projectionstest.Setup(t, db, &Projection{Meta: meta.At(Version + 10)})
		projectionstest.Apply(t, db, ref, h.Events...)
		want := dumpVersion(t, db)(Version + 10)
		if len(want) != 3 {
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
		h, _ := history(&pos)
		projectionstest.Apply(t, db, p, h.Events...)
		erasure := event.Envelope{Stream: event.NewStreamID(member.Category, h.Stream.ID), Position: pos + 10,
			Type: member.TypeDataErased, Event: member.DataErased{}, Metadata: event.Metadata{OccurredAt: start}}
		projectionstest.Apply(t, db, p, erasure)
		projectionstest.AssertErased(t, dumpVersion(t, db)(Version), "Décision sur votre demande", "jeanne-martin")
	})
}
