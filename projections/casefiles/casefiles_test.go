package casefiles

import (
	"encoding/json"
	"errors"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections"
	mr "github.com/msa-dossier/dossier/projections/memberrequests"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

var (
	w1, w2     = uuid.New(), uuid.New()
	supervisor = uuid.New()
	m1, m2     = uuid.New(), uuid.New()
)

// c2sForm is a complementaire-sante-solidaire form as the command records it (normalised, compacted).
const c2sForm = `{"household_situation":"couple","household_size":3,"housing":"tenant","managing_body":"msa",` +
	`"resources_12_months":1420000,"sworn_statement":true}`

// worked is a C2S request of m1 that goes through every kind of staff step and an answer from the member, then is
// rejected: revisions 0 to 11.
func worked(t *testing.T, pos *uint64) *srtest.Request {
	t.Helper()
	a := srtest.SubmitForm(t, pos, m1, srtest.C2S, srtest.At(0, 0), c2sForm)
	a.Claim(srtest.At(1, 0), w1)
	a.Release(srtest.At(1, 1), w1)
	a.Claim(srtest.At(1, 2), w2)
	a.Reassign(srtest.At(1, 3), supervisor, w1)
	a.Note(srtest.At(1, 4), w1)
	a.AskInformation(srtest.At(2, 0), srtest.At(46, 0))
	a.Answer(srtest.At(12, 0))
	a.Decide(srtest.At(20, 0), sr.Rejected, "Ressources supérieures au plafond")
	return a
}

func get(t *testing.T, q *Queries, id uuid.UUID) File {
	t.Helper()
	f, err := q.Get(projectionstest.Ctx(t), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return f
}

func readAsMember(t *testing.T, q *Queries, member, id uuid.UUID) MemberFile {
	t.Helper()
	f, err := q.ForMember(projectionstest.Ctx(t), member, id)
	if err != nil {
		t.Fatalf("ForMember(%s): %v", id, err)
	}
	return f
}

// TestStaffReadTheWholeFile: staff read the form with the labels of its catalog version, and every step in order
// with who caused it, what it said, and whether the member is told about it.
func TestStaffReadTheWholeFile(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := worked(t, &pos)
		projectionstest.Apply(t, db, p, a.Events...)
		q := NewQueries(db)

		f := get(t, q, a.ID)
		if f.RequestID != a.ID || f.MemberID != m1 || f.Revision != 11 || len(f.Timeline) != 12 {
			t.Fatalf("file = %+v", f)
		}

		// The form: the catalog's fields in its order, with its labels; the option's label beside a choice's code.
		svc, err := catalog.Current().Lookup(srtest.C2S.Code)
		if err != nil {
			t.Fatal(err)
		}
		if f.Form.ServiceCode != srtest.C2S.Code || f.Form.CatalogVersion != "2026.1" || f.Form.ServiceLabel != svc.Label {
			t.Errorf("form = %+v", f.Form)
		}
		var names []string
		for _, field := range f.Form.Fields {
			names = append(names, field.Name)
			want, ok := svc.Field(field.Name)
			if !ok || field.Label != want.Label || field.Type != want.Type {
				t.Errorf("field %s = %+v, catalog %+v", field.Name, field, want)
			}
		}
		if want := []string{"household_situation", "household_size", "resources_12_months", "housing", "managing_body",
			"sworn_statement"}; !slices.Equal(names, want) {
			t.Errorf("fields %v, want %v (catalog order, the optional one left empty absent)", names, want)
		}
		housing := f.Form.Fields[3]
		if housing.Label != "Logement" || string(housing.Value) != `"tenant"` || housing.ValueLabel != "Locataire" {
			t.Errorf("housing = %+v", housing)
		}
		if size := f.Form.Fields[1]; string(size.Value) != "3" || size.ValueLabel != "" {
			t.Errorf("household_size = %+v", size)
		}

		type summary struct {
			kind      Kind
			actor     event.Actor
			staffOnly bool
			label     string
		}
		member := event.Actor{ID: m1.String(), Role: event.RoleMember}
		worker := func(id uuid.UUID) event.Actor { return event.Actor{ID: id.String(), Role: event.RoleCaseworker} }
		want := []summary{
			{KindSubmitted, member, false, mr.LabelSubmitted},
			{KindAcknowledged, member, false, mr.LabelAcknowledged},
			{KindQueued, member, false, mr.LabelQueued},
			{KindClaimed, worker(w1), false, mr.LabelTakenUp},
			{KindReleased, worker(w1), true, ""},
			{KindClaimed, worker(w2), true, ""},
			{KindReassigned, event.Actor{ID: supervisor.String(), Role: event.RoleSupervisor}, true, ""},
			{KindNote, worker(w1), true, ""},
			{KindInformationRequested, worker(w1), false, mr.LabelInformationRequested},
			{KindInformationReceived, member, false, mr.LabelInformationReceived},
			{KindDecided, worker(w1), false, mr.LabelRejected},
			{KindClosed, worker(w1), false, mr.LabelClosed},
		}
		for i, s := range f.Timeline {
			got := summary{s.Kind, s.Actor, s.StaffOnly, s.MemberLabel}
			if got != want[i] || s.Revision != uint64(i) || !s.At.Equal(a.Events[i].Metadata.OccurredAt) {
				t.Errorf("step %d = %+v at %v, want %+v", i, got, s.At, want[i])
			}
		}

		d := func(i int) Details { return f.Timeline[i].Details }
		ack := sr.Rehydrate(a.ID, a.Events)
		if d(0).ServiceCode != srtest.C2S.Code || d(0).CatalogVersion != "2026.1" {
			t.Errorf("submitted: %+v", d(0))
		}
		if d(1).Reference != ack.Reference() || d(1).ImplicitDecisionOn != "2026-03-05" || d(1).ImplicitOutcome != "acceptance" ||
			d(1).DueOn == "" || d(1).TimeZone != "Europe/Paris" || d(1).AppealRoutes == "" {
			t.Errorf("acknowledged: %+v", d(1))
		}
		if d(2).Queue != srtest.C2S.Queue {
			t.Errorf("queued: %+v", d(2))
		}
		if d(3).Caseworker == nil || *d(3).Caseworker != w1 || d(4).Caseworker == nil || *d(4).Caseworker != w1 {
			t.Errorf("claimed, released: %+v, %+v", d(3), d(4))
		}
		if r := d(6); r.Supervisor == nil || *r.Supervisor != supervisor || r.From == nil || *r.From != w2 ||
			r.To == nil || *r.To != w1 {
			t.Errorf("reassigned: %+v", r)
		}
		if n := d(7); n.Author == nil || *n.Author != w1 || n.Text != "Appelé" {
			t.Errorf("note: %+v", n)
		}
		if r := d(8); r.Caseworker == nil || *r.Caseworker != w1 || !slices.Equal(r.Items, []string{"Avis d'imposition 2025"}) ||
			r.Deadline == nil || !r.Deadline.Equal(srtest.At(46, 0)) {
			t.Errorf("information requested: %+v", r)
		}
		if d(9).Answer != "Avis d'imposition déposé" {
			t.Errorf("information received: %+v", d(9))
		}
		if r := d(10); r.Decision != sr.Rejected || r.Reason != "Ressources supérieures au plafond" ||
			r.CatalogVersion != "2026.1" || r.RuleApplied != "c2s.eligibility" || r.Caseworker == nil || *r.Caseworker != w1 {
			t.Errorf("decided: %+v", r)
		}
		if d(11).CloseReason != sr.CloseDecided {
			t.Errorf("closed: %+v", d(11))
		}

		if _, err := q.Get(projectionstest.Ctx(t), uuid.New()); !errors.Is(err, ErrNotFound) || !errors.Is(err, failure.NotFound) {
			t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
		}
	})
}

// TestMemberReadsTheirPart: the member reads their form and the steps they are told about, with the labels and
// statuses of memberrequests.Next and their own answer; never a note, a staff id, a queue or a rule.
func TestMemberReadsTheirPart(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := worked(t, &pos)
		projectionstest.Apply(t, db, p, a.Events...)
		q := NewQueries(db)

		f := readAsMember(t, q, m1, a.ID)
		type summary struct {
			at     string
			status mr.Status
			label  string
		}
		want := []summary{
			{srtest.At(0, 0).String(), mr.StatusReceived, mr.LabelSubmitted},
			{srtest.At(0, 0).String(), mr.StatusReceived, mr.LabelAcknowledged},
			{srtest.At(0, 0).String(), mr.StatusReceived, mr.LabelQueued},
			{srtest.At(1, 0).String(), mr.StatusInProgress, mr.LabelTakenUp},
			{srtest.At(2, 0).String(), mr.StatusAwaitingInformation, mr.LabelInformationRequested},
			{srtest.At(12, 0).String(), mr.StatusInProgress, mr.LabelInformationReceived},
			{srtest.At(20, 0).String(), mr.StatusRejected, mr.LabelRejected},
			{srtest.At(20, 0).String(), mr.StatusRejected, mr.LabelClosed},
		}
		var got []summary
		for _, s := range f.Timeline {
			got = append(got, summary{s.At.String(), s.Status, s.Label})
		}
		if !slices.Equal(got, want) {
			t.Fatalf("member's timeline:\n got %+v\nwant %+v", got, want)
		}
		d := func(i int) MemberDetails {
			if f.Timeline[i].Details == nil {
				t.Fatalf("step %d (%s) has no details", i, f.Timeline[i].Label)
			}
			return *f.Timeline[i].Details
		}
		if d(1).Reference != sr.Rehydrate(a.ID, a.Events).Reference() || d(1).ImplicitDecisionOn != "2026-03-05" {
			t.Errorf("acknowledged: %+v", d(1))
		}
		if f.Timeline[0].Details != nil || f.Timeline[2].Details != nil || f.Timeline[3].Details != nil {
			t.Errorf("submitted, queued or taken up say more than their label: %+v", f.Timeline[:4])
		}
		if r := d(4); !slices.Equal(r.Items, []string{"Avis d'imposition 2025"}) || r.Deadline == nil || !r.Deadline.Equal(srtest.At(46, 0)) {
			t.Errorf("information requested: %+v", r)
		}
		if d(5).Answer != "Avis d'imposition déposé" {
			t.Errorf("the member's answer: %+v", d(5))
		}
		if r := d(6); r.Decision != sr.Rejected || r.Reason != "Ressources supérieures au plafond" {
			t.Errorf("decided: %+v", r)
		}
		if len(f.Form.Fields) != 6 || f.Form.Fields[3].ValueLabel != "Locataire" {
			t.Errorf("the member's form: %+v", f.Form)
		}

		body, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{w1.String(), w2.String(), supervisor.String(), "Appelé", srtest.C2S.Queue, "c2s.eligibility",
			"caseworker", "supervisor", "note", "actor"} {
			if strings.Contains(string(body), secret) {
				t.Errorf("the member's file shows %q: %s", secret, body)
			}
		}
	})
}

// TestWithdrawnAndLapsed: the member's timeline ends with the withdrawal, or with the lapse, then the closure.
func TestWithdrawnAndLapsed(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(0, 0))
		a.Withdraw(srtest.At(1, 0))
		b := srtest.Submit(t, &pos, m1, srtest.Cards, srtest.At(2, 0))
		b.Claim(srtest.At(2, 1), w1)
		b.AskInformation(srtest.At(2, 2), srtest.At(10, 0))
		b.Lapse(srtest.At(10, 1))
		projectionstest.Apply(t, db, p, srtest.All(a, b)...)
		q := NewQueries(db)

		steps := readAsMember(t, q, m1, b.ID).Timeline
		if last := steps[len(steps)-2:]; last[0].Label != mr.LabelLapsed || last[0].Status != mr.StatusLapsed ||
			last[0].Details == nil || !last[0].Details.Deadline.Equal(srtest.At(10, 0)) || last[1].Label != mr.LabelClosed ||
			last[1].Details == nil || last[1].Details.CloseReason != sr.CloseLapsed {
			t.Errorf("lapsed timeline ends with %+v", last)
		}
		steps = readAsMember(t, q, m1, a.ID).Timeline
		if last := steps[len(steps)-2:]; last[0].Label != mr.LabelWithdrawn || last[0].Status != mr.StatusWithdrawn ||
			last[1].Status != mr.StatusWithdrawn {
			t.Errorf("withdrawn timeline ends with %+v", last)
		}
		// The lapse is the system's deed.
		lapse := get(t, q, b.ID).Timeline[5]
		if lapse.Kind != KindInformationDeadlineLapsed || lapse.Actor.Role != event.RoleSystem || lapse.StaffOnly {
			t.Errorf("lapse step = %+v", lapse)
		}
	})
}

// TestMemberBCannotReadMemberAsFile: another member's case file is not found, like one that does not exist.
func TestMemberBCannotReadMemberAsFile(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(0, 0))
		b := srtest.Submit(t, &pos, m2, srtest.C2S, srtest.At(0, 1))
		projectionstest.Apply(t, db, p, srtest.All(a, b)...)
		q := NewQueries(db)

		if _, err := q.ForMember(projectionstest.Ctx(t), m2, a.ID); !errors.Is(err, ErrNotFound) || !errors.Is(err, failure.NotFound) {
			t.Errorf("ForMember(B, A's request) = %v, want ErrNotFound", err)
		}
		if _, err := q.ForMember(projectionstest.Ctx(t), m1, uuid.New()); !errors.Is(err, ErrNotFound) {
			t.Errorf("ForMember(unknown) = %v, want ErrNotFound", err)
		}
		if f := readAsMember(t, q, m2, b.ID); len(f.Timeline) != 3 {
			t.Errorf("B's own file: %+v", f)
		}
	})
}

// TestEveryEventIsAStep: every event of a service request stream has a kind of its own, so that no step of the
// timeline falls back to the type name.
func TestEveryEventIsAStep(t *testing.T) {
	reg, err := event.NewRegistry(sr.Definitions())
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[Kind]string{}
	for _, def := range sr.Definitions() {
		if def.Name() == sr.TypeReferenceClaimed {
			continue // on the reference streams, not the request's
		}
		v, err := reg.Decode(def.Name(), def.Version(), []byte("{}"))
		if err != nil {
			t.Fatal(err)
		}
		kind, _, ok := step(v)
		if !ok {
			t.Errorf("%s has no step", def.Name())
			continue
		}
		if other, dup := kinds[kind]; dup {
			t.Errorf("%s and %s are both %q", def.Name(), other, kind)
		}
		kinds[kind] = def.Name()
	}
}

// TestFormOfAnUnknownVersion: a form read with a catalog version or service the catalog does not know keeps its
// values, named by their names, in name order.
func TestFormOfAnUnknownVersion(t *testing.T) {
	for _, r := range []row{
		{ServiceCode: srtest.C2S.Code, CatalogVersion: "1999.1", Form: `{"b":true,"a":"x"}`},
		{ServiceCode: "no-such-service", CatalogVersion: "2026.1", Form: `{"b":true,"a":"x"}`},
	} {
		f, err := labelled(r)
		if err != nil {
			t.Fatal(err)
		}
		if f.ServiceLabel != "" || len(f.Fields) != 2 || f.Fields[0].Label != "a" || string(f.Fields[0].Value) != `"x"` ||
			f.Fields[1].Label != "b" || string(f.Fields[1].Value) != "true" {
			t.Errorf("%s %s: %+v", r.CatalogVersion, r.ServiceCode, f)
		}
	}
	// A field of the service that its version does not list comes after the listed ones.
	f, err := labelled(row{ServiceCode: srtest.C2S.Code, CatalogVersion: "2026.1", Form: `{"zz":1,"housing":"owner"}`})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Fields) != 2 || f.Fields[0].Label != "Logement" || f.Fields[0].ValueLabel != "Propriétaire" ||
		f.Fields[1].Name != "zz" || f.Fields[1].Label != "zz" {
		t.Errorf("form with an unlisted field: %+v", f)
	}
}

// story is a history with every kind of event, for two members.
func story(t *testing.T) []event.Envelope {
	var pos uint64
	a := worked(t, &pos)
	b := srtest.Submit(t, &pos, m2, srtest.C2S, srtest.At(1, 0))
	c := srtest.Submit(t, &pos, m1, srtest.Cards, srtest.At(1, 1))
	d := srtest.Submit(t, &pos, m2, srtest.C2S, srtest.At(2, 0))
	b.Reassign(srtest.At(2, 2), supervisor, w2)
	b.Note(srtest.At(3, 1), w2)
	b.Release(srtest.At(3, 2), w2)
	c.Claim(srtest.At(3, 3), w1)
	c.Decide(srtest.At(4, 0), sr.Approved, "")
	c.Note(srtest.At(4, 1), w1)
	d.Withdraw(srtest.At(9, 1))
	b.Claim(srtest.At(10, 0), w1)
	b.AskInformation(srtest.At(10, 1), srtest.At(12, 0))
	b.Lapse(srtest.At(12, 1))
	return srtest.All(a, b, c, d)
}

// TestReplaysAndRebuild: events applied twice, in any order of batches, leave the rows a single pass gives; a new
// version built beside, in other batches, holds the same rows.
func TestReplaysAndRebuild(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		evs := story(t)

		clean := sqldbtest.NewTarget(t, db.Dialect()).Open(t)
		projectionstest.Apply(t, clean, projectionstest.Setup(t, clean, New()), evs...)
		want := dump(t, clean, Version)
		if len(want) < len(evs) {
			t.Fatalf("%d rows for %d events", len(want), len(evs))
		}

		// Event by event, then everything again, then out of order and in duplicate; and a new version built beside
		// the live one from the whole log in batches: the same rows.
		projectionstest.ReplaysAndRebuild(t, db, projectionstest.Setup(t, db, New()), &Projection{Meta: meta.At(Version + 1)}, evs, want,
			func(p projections.Projection, batch ...event.Envelope) { projectionstest.Apply(t, db, p, batch...) },
			func(version int) []string { return dump(t, db, version) })
	})
}

// TestEventBeforeSubmission: a request stream that does not begin with its submission stops the projection.
func TestEventBeforeSubmission(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		p := projectionstest.Setup(t, db, New())
		var pos uint64
		a := srtest.Submit(t, &pos, m1, srtest.C2S, srtest.At(0, 0))
		claim := a.Claim(srtest.At(1, 0), w1)
		err := db.InTx(projectionstest.Ctx(t), func(tx *sqldb.Tx) error { return p.Apply(projectionstest.Ctx(t), tx, claim) })
		if err == nil || !strings.Contains(err.Error(), "before "+sr.TypeSubmitted) {
			t.Fatalf("a claim before the submission: %v", err)
		}
	})
}
