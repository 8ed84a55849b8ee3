package auditstreams

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/registration"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// journey is the streams of one member and of someone else, as the log holds them: every kind of link.
type journey struct {
	member, other, caseID uuid.UUID
	evs                   []event.Envelope
	mine, theirs          []string // stream names
}

func newJourney() journey {
	var pos uint64
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	j := journey{}
	reg := projectionstest.NewHistory(registration.Category, &pos, start)
	j.member = uuid.New()
	acct := &projectionstest.History{Stream: event.NewStreamID(member.Category, j.member)}
	acct = withPos(acct, &pos, start)
	claim := projectionstest.NewHistory(member.ClaimCategory, &pos, start)
	req := projectionstest.NewHistory(servicerequest.Category, &pos, start)
	j.caseID = req.Stream.ID
	ref := projectionstest.NewHistory(servicerequest.ReferenceCategory, &pos, start)
	access := withPos(&projectionstest.History{Stream: staff.AccessStreamFor(j.member)}, &pos, start)
	parked := projectionstest.NewHistory(consultation.ParkedCategory, &pos, start)
	reset := projectionstest.NewHistory(member.PasswordResetCategory, &pos, start)
	j.other = uuid.New()
	otherAcct := withPos(&projectionstest.History{Stream: event.NewStreamID(member.Category, j.other)}, &pos, start)
	otherReq := projectionstest.NewHistory(servicerequest.Category, &pos, start)

	add := func(h *projectionstest.History, subject uuid.UUID, typ string, v any) {
		e := h.Add(typ, v)
		e.Metadata.Subject = subject
		h.Events[len(h.Events)-1] = e
		j.evs = append(j.evs, e)
	}
	add(reg, uuid.Nil, registration.TypeStarted, registration.Started{})
	add(claim, uuid.Nil, member.TypeClaimed, member.Claimed{MemberID: j.member})
	add(acct, uuid.Nil, member.TypeRegistered, member.Registered{RegistrationID: reg.Stream.ID})
	add(reg, uuid.Nil, registration.TypeCompleted, registration.Completed{MemberID: j.member})
	add(otherAcct, uuid.Nil, member.TypeRegistered, member.Registered{})
	add(req, j.member, servicerequest.TypeSubmitted, servicerequest.Submitted{})
	add(ref, uuid.Nil, servicerequest.TypeReferenceClaimed, servicerequest.ReferenceClaimed{RequestID: j.caseID})
	add(otherReq, j.other, servicerequest.TypeSubmitted, servicerequest.Submitted{})
	add(access, uuid.Nil, staff.TypeMemberDataOpened, staff.MemberDataOpened{})
	add(req, j.member, servicerequest.TypeClaimed, servicerequest.Claimed{})
	add(parked, uuid.Nil, consultation.TypeParkedFactsDelivered, consultation.ParkedFactsDelivered{MemberID: j.member})
	add(reset, uuid.Nil, member.TypeResetRequested, member.ResetRequested{MemberID: j.member})
	j.mine = []string{reg.Stream.String(), claim.Stream.String(), acct.Stream.String(), req.Stream.String(),
		ref.Stream.String(), access.Stream.String(), parked.Stream.String(), reset.Stream.String()}
	j.theirs = []string{otherAcct.Stream.String(), otherReq.Stream.String()}
	return j
}

// withPos gives a history built for a fixed stream the shared position counter (NewHistory makes its own stream).
func withPos(h *projectionstest.History, pos *uint64, start time.Time) *projectionstest.History {
	n := projectionstest.NewHistory(h.Stream.Category, pos, start)
	n.Stream = h.Stream
	return n
}

func names(list []Stream) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.Stream)
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestFindsEveryStreamOfAMemberAndOfACase(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		j := newJourney()
		p := projectionstest.Setup(t, db, New())
		projectionstest.Apply(t, db, p, j.evs...)
		q := NewQueries(db)
		ctx := projectionstest.Ctx(t)

		got, err := q.MemberStreams(ctx, j.member)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names(got), sorted(j.mine)) {
			t.Errorf("member streams:\n got %q\nwant %q", names(got), sorted(j.mine))
		}
		for i := 1; i < len(got); i++ {
			if got[i].FirstPosition < got[i-1].FirstPosition {
				t.Errorf("not by first position: %+v", got)
			}
		}
		theirs, err := q.MemberStreams(ctx, j.other)
		if err != nil || !slices.Equal(names(theirs), sorted(j.theirs)) {
			t.Errorf("other member's streams = %q, %v; want %q", names(theirs), err, sorted(j.theirs))
		}

		cs, m, err := q.CaseStreams(ctx, j.caseID)
		if err != nil || m != j.member || len(cs) != 2 || cs[0].Stream != servicerequest.Category+"-"+j.caseID.String() {
			t.Errorf("case streams = %+v, member %s, %v", cs, m, err)
		}
		if cs[0].LastPosition <= cs[0].FirstPosition {
			t.Errorf("request stream positions %d..%d", cs[0].FirstPosition, cs[0].LastPosition)
		}

		if _, err := q.MemberStreams(ctx, uuid.New()); !errors.Is(err, ErrMemberNotFound) {
			t.Errorf("unknown member: %v", err)
		}
		// A registration's id is no member.
		if _, err := q.MemberStreams(ctx, event.NewStreamID("x", uuid.New()).ID); !errors.Is(err, ErrMemberNotFound) {
			t.Errorf("unknown: %v", err)
		}
		if _, _, err := q.CaseStreams(ctx, uuid.New()); !errors.Is(err, ErrCaseNotFound) {
			t.Errorf("unknown case: %v", err)
		}
	})
}

func TestReplaysAndRebuild(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		j := newJourney()
		live := projectionstest.Setup(t, db, New())
		apply := func(p projections.Projection, batch ...event.Envelope) { projectionstest.Apply(t, db, p, batch...) }
		dump := func(v int) []string { return projectionstest.DumpVersion(t, db, Name, v) }
		// What the events give applied once, in order, on a scratch version.
		scratch := projectionstest.Setup(t, db, &Projection{Meta: meta.At(Version + 2)})
		apply(scratch, j.evs...)
		want := dump(Version + 2)
		if len(want) != len(j.mine)+len(j.theirs) {
			t.Fatalf("%d rows, want %d: %q", len(want), len(j.mine)+len(j.theirs), want)
		}
		projectionstest.ReplaysAndRebuild(t, db, live, &Projection{Meta: meta.At(Version + 1)}, j.evs, want, apply, dump)
	})
}
