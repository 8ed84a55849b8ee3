// Package auditstreams maps every stream of the event store to the member whose data it holds and, for the streams
// of one service request, to that case: the index the auditor's histories (adapters/audithistory) read to find a
// member's or a case's streams without scanning the log. The events themselves are then read from the event store.
//
// A stream belongs to member M when its events' data subject (event.Metadata.Subject; zero means the stream's own
// id) is M — the account, requests, deposits, inbox, conversations, appointments, finance facts, access log, saved
// estimates — or when one of its events names M as the member it serves: a registration (RegistrationCompleted), the
// NIR claim (NIRClaimed), a password reset (PasswordResetRequested), parked finance facts (delivered to M). A stream
// belongs to case C when it is C's request stream (servicerequest-C) or C's reference claim (ServiceReferenceClaimed).
//
// It reads only envelopes and ids, never personal fields: it holds no personal data.
package auditstreams

import (
	"context"
	"embed"
	"fmt"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/registration"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections"
)

// Name is the projection's name: its checkpoint, its lease, and the view readers query.
const Name = "auditstreams"

// Version is the current version of the projection.
const Version = 1

//go:embed migrations/*.sql
var migrations embed.FS

var meta = projections.NewMeta(Name, Version, migrations)

// Projection keeps one row per stream. It is stateless and safe for concurrent use.
type Projection struct {
	projections.Meta
}

// New returns the projection at its current Version.
func New() *Projection { return &Projection{Meta: meta} }

var columns = []string{"stream", "category", "subject", "member_id", "case_id", "first_position", "last_position"}

// row is what a batch says of one stream.
type row struct {
	stream, category, subject string
	member, kase              *string
	first, last               uint64
}

// Link returns the member and the case an event ties its stream to, beyond its data subject (nil when none). It is
// the one list of such links: a new stream kind whose subject is not the member it serves adds its case here.
func Link(e event.Envelope) (memberID, caseID *uuid.UUID) {
	switch v := e.Event.(type) {
	case registration.Completed:
		return &v.MemberID, nil
	case member.Claimed:
		return &v.MemberID, nil
	case member.ResetRequested:
		return &v.MemberID, nil
	case consultation.ParkedFactsDelivered:
		return &v.MemberID, nil
	case servicerequest.ReferenceClaimed:
		return nil, &v.RequestID
	}
	if e.Stream.Category == servicerequest.Category {
		id := e.Stream.ID
		return nil, &id
	}
	return nil, nil
}

// SubjectOf is the data subject of an event: its metadata's, or the stream's own id when that is zero.
func SubjectOf(e event.Envelope) uuid.UUID {
	if e.Metadata.Subject != uuid.Nil {
		return e.Metadata.Subject
	}
	return e.Stream.ID
}

// Apply folds the batch into one row per stream and writes them with one upsert. Every column it merges is a
// join: the smallest first position, the largest last position, the first member and case link seen (links never
// change once written), and the subject of the row's first write (a stream's subject is set on its first event and
// inherited). So any order of the same events, repeats included, leaves the same rows.
func (p *Projection) Apply(ctx context.Context, tx *sqldb.Tx, batch []event.Envelope) error {
	rows := make(map[string]*row)
	var order []*row
	for _, e := range batch {
		name := e.Stream.String()
		r := rows[name]
		if r == nil {
			r = &row{stream: name, category: e.Stream.Category, subject: SubjectOf(e).String(),
				first: e.Position, last: e.Position}
			rows[name] = r
			order = append(order, r)
		}
		r.first, r.last = min(r.first, e.Position), max(r.last, e.Position)
		m, c := Link(e)
		if m != nil && r.member == nil {
			s := m.String()
			r.member = &s
		}
		if c != nil && r.kase == nil {
			s := c.String()
			r.kase = &s
		}
	}
	if len(order) == 0 {
		return nil
	}
	t := p.Table()
	conflict := "ON CONFLICT (stream) DO UPDATE SET " +
		"member_id = COALESCE(" + t + ".member_id, excluded.member_id), " +
		"case_id = COALESCE(" + t + ".case_id, excluded.case_id), " +
		"first_position = CASE WHEN excluded.first_position < " + t + ".first_position THEN excluded.first_position ELSE " + t + ".first_position END, " +
		"last_position = CASE WHEN excluded.last_position > " + t + ".last_position THEN excluded.last_position ELSE " + t + ".last_position END"
	out := make([][]any, len(order))
	for i, r := range order {
		out[i] = []any{r.stream, r.category, r.subject, r.member, r.kase, int64(r.first), int64(r.last)}
	}
	if _, err := sqldb.BulkInsert(ctx, tx, t, columns, out, conflict); err != nil {
		return fmt.Errorf("auditstreams: %w", err)
	}
	return nil
}
