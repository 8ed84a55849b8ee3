package command_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/insured"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
	"github.com/msa-dossier/dossier/domain/registration"
)

// Every top-level name here starts with "parking": other command tests share the package.

const (
	parkingNIR        = "185037511504216" // in the reference, no account until the test opens it
	parkingNIRBody    = "1850375115042"
	parkingNIROutside = "292112A00401759" // valid, not in the reference
	parkingPassword   = "Trois pommes vertes au jardin"
)

var parkingForm = command.RegisterInput{NIR: "1 85 03 75 115 042", Key: "16", LastName: "Dupont", FirstName: "Jean",
	BirthDate: "1985-03-12", Email: "jean.dupont@example.fr", MobilePhone: "06 12 34 56 78", TermsAccepted: true}

var (
	parkingPayment = consultation.PaymentRecorded{PaymentID: "PF-2025-12-42", Kind: consultation.KindFamilyBenefits,
		AmountCents: 14_172, PaidOn: "2025-12-05", Label: "Allocations familiales"}
	parkingInvoice = consultation.InvoiceIssued{InvoiceID: "F-2026-77", Label: "Cotisations T1 2026",
		AmountCents: 123_456, DueOn: "2026-04-15"}
	parkingReporter = event.Actor{ID: "integration/finance", Role: event.RoleSystem}
)

// parkingStore is the event store with a hook run before the first Update of a parkedfinance stream.
type parkingStore struct {
	command.EventStore
	beforePark atomic.Pointer[func()]
}

func (s *parkingStore) Update(ctx context.Context, stream event.StreamID, cmd event.Command,
	decide func([]event.Envelope) ([]any, error)) (event.Commit, error) {
	if stream.Category == consultation.ParkedCategory {
		if hook := s.beforePark.Swap(nil); hook != nil {
			(*hook)()
		}
	}
	return s.EventStore.Update(ctx, stream, cmd, decide)
}

type parkingFixture struct {
	h     handlers
	env   *kurrentdbtest.Env
	store *parkingStore
	keys  *keyedhash.Hasher
}

// newParkingFixture is an in-memory node, the handlers with the real insured-person reference and password hashing
// (at the OWASP minimum, for speed), and Jean Dupont in the reference, without an account.
func newParkingFixture(t *testing.T) *parkingFixture {
	t.Helper()
	env := kurrentdbtest.Start(t, registration.Definitions(), member.Definitions(), insured.Definitions(),
		consultation.Definitions())
	keys, err := keyedhash.FromHex("5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8")
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := credentials.NewHasher(credentials.Config{Params: credentials.Params{Memory: 19 * 1024, Time: 2,
		Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	store := &parkingStore{EventStore: env.Store}
	h, err := newHandlers(testDeps{Store: store, Keys: keys, Hasher: hasher,
		Insured: insured.NewReference(env.Store, keys)})
	if err != nil {
		t.Fatal(err)
	}
	f := &parkingFixture{h: h, env: env, store: store, keys: keys}
	n := parkingParse(t, parkingNIR)
	id, err := insured.NewIdentity(n, "DUPONT", "Jean", time.Date(1985, 3, 12, 0, 0, 0, 0, time.UTC), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
		Actor: event.Actor{ID: "admin/import-insured", Role: event.RoleSystem}, OccurredAt: time.Now().UTC()}}
	if _, err := env.Store.Update(caseCtx(t), insured.StreamFor(keys, n), cmd, func(h []event.Envelope) ([]any, error) {
		events, _, err := insured.Decide(h, id)
		return events, err
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

func parkingParse(t *testing.T, s string) nir.NIR {
	t.Helper()
	n, err := nir.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func parkingMeta() command.Meta {
	return command.Meta{Actor: parkingReporter, CorrelationID: uuid.New(), CommandID: uuid.New()}
}

func (f *parkingFixture) parkedStream() event.StreamID {
	return event.NewStreamID(consultation.ParkedCategory, f.keys.StreamFor(consultation.ParkedCategory, parkingNIRBody))
}

func (f *parkingFixture) load(t *testing.T, stream event.StreamID) []event.Envelope {
	t.Helper()
	h, err := f.env.Store.Load(caseCtx(t), stream)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// openAccount registers Jean Dupont and activates the account, as the member would.
func (f *parkingFixture) openAccount(t *testing.T) uuid.UUID {
	t.Helper()
	reg, err := f.h.Register(caseCtx(t), command.Meta{Actor: event.Actor{ID: "anonymous", Role: event.RoleMember},
		CorrelationID: uuid.New(), CommandID: uuid.New()}, parkingForm)
	if err != nil {
		t.Fatal(err)
	}
	seq := 0
	for _, env := range f.load(t, event.NewStreamID(registration.Category, reg.RegistrationID)) {
		if c, ok := env.Event.(registration.CodeIssued); ok {
			seq = c.Sequence
		}
	}
	res, err := f.h.Activate(caseCtx(t), command.Meta{CorrelationID: uuid.New(), CommandID: uuid.New()},
		reg.RegistrationID, command.ActivationCode(f.keys, reg.RegistrationID, seq), parkingPassword)
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	return res.MemberID
}

// A fact about an insured person without an account is parked (no NIR in the event), once; the account opens; the
// delivery moves it into the member's history with its reporter as actor, once, however often it runs.
func TestParkingThenDeliveryAtActivation(t *testing.T) {
	f := newParkingFixture(t)
	n := parkingParse(t, parkingNIR)
	first := parkingMeta()
	res, err := f.h.RecordFinanceFactByNIR(caseCtx(t), first, n, parkingPayment)
	if err != nil || !res.Parked || res.Position == 0 || res.MemberID != uuid.Nil {
		t.Fatalf("park: %+v, %v", res, err)
	}
	res, err = f.h.RecordFinanceFactByNIR(caseCtx(t), parkingMeta(), n, parkingPayment) // redelivered
	if err != nil || !res.Parked || res.Position != 0 {
		t.Fatalf("park again: %+v, %v", res, err)
	}
	changed := parkingPayment
	changed.AmountCents++
	if _, err := f.h.RecordFinanceFactByNIR(caseCtx(t), parkingMeta(), n, changed); !errors.Is(err, consultation.ErrConflictingRecord) {
		t.Fatalf("same id, other data: %v", err)
	}
	if _, err := f.h.RecordFinanceFactByNIR(caseCtx(t), parkingMeta(), n, parkingInvoice); err != nil {
		t.Fatal(err)
	}
	parked := f.load(t, f.parkedStream())
	if len(parked) != 2 || !reflect.DeepEqual(parked[0].Event, consultation.FactParked{Payment: &parkingPayment}) ||
		parked[0].Metadata.Actor != parkingReporter || parked[0].Metadata.CausationID != first.CommandID ||
		parked[0].Metadata.CorrelationID != first.CorrelationID {
		t.Fatalf("parked stream: %+v", parked)
	}
	// Neither the NIR nor the person's names are in what was parked: the stream's name is the only link.
	for _, r := range f.env.AllRecords(t) {
		if !strings.HasPrefix(r.StreamID, consultation.ParkedCategory+"-") {
			continue
		}
		for _, s := range []string{parkingNIRBody, "Dupont", "DUPONT", "Jean"} {
			if strings.Contains(string(r.Data), s) || strings.Contains(string(r.UserMetadata), s) || strings.Contains(r.StreamID, s) {
				t.Errorf("%s holds %q", r.StreamID, s)
			}
		}
	}

	memberID := f.openAccount(t)
	if h := f.load(t, event.NewStreamID(consultation.Category, memberID)); len(h) != 0 {
		t.Fatalf("delivered before the reaction ran: %+v", h)
	}
	reaction := command.Meta{Actor: event.Actor{ID: "reactions/finance.parked-delivery", Role: event.RoleSystem},
		CorrelationID: uuid.New(), CommandID: uuid.New()}
	d, err := f.h.DeliverParkedFinanceFacts(caseCtx(t), reaction, memberID)
	if err != nil || d.Delivered != 2 || d.Refused != 0 || d.Position == 0 {
		t.Fatalf("delivery: %+v, %v", d, err)
	}
	history := f.load(t, event.NewStreamID(consultation.Category, memberID))
	if len(history) != 2 || history[0].Event != any(parkingPayment) || history[1].Event != any(parkingInvoice) ||
		history[0].Metadata.Actor != parkingReporter || history[0].Metadata.CausationID != parked[0].EventID ||
		history[0].Metadata.CorrelationID != first.CorrelationID {
		t.Fatalf("member history: %+v", history)
	}
	parked = f.load(t, f.parkedStream())
	if len(parked) != 3 || !reflect.DeepEqual(parked[2].Event, consultation.ParkedFactsDelivered{MemberID: memberID,
		Delivered: []consultation.FactRef{{Kind: "payment", ID: "PF-2025-12-42"}, {Kind: "invoice", ID: "F-2026-77"}}}) ||
		parked[2].Metadata.Actor != reaction.Actor {
		t.Fatalf("parked stream after delivery: %+v", parked)
	}

	// The reaction runs again (a redelivered event, a replay): nothing more anywhere.
	for range 2 {
		d, err = f.h.DeliverParkedFinanceFacts(caseCtx(t), reaction, memberID)
		if err != nil || d != (command.ParkedDelivery{}) {
			t.Fatalf("delivery again: %+v, %v", d, err)
		}
	}
	if h := f.load(t, event.NewStreamID(consultation.Category, memberID)); len(h) != 2 {
		t.Fatalf("member history after a second delivery: %d events", len(h))
	}
	if p := f.load(t, f.parkedStream()); len(p) != 3 {
		t.Fatalf("parked stream after a second delivery: %d events", len(p))
	}
	// Once the account is open, facts go straight to it; the same parked fact reported again is already there.
	res, err = f.h.RecordFinanceFactByNIR(caseCtx(t), parkingMeta(), n, parkingPayment)
	if err != nil || res.Parked || res.MemberID != memberID || res.Position != 0 {
		t.Fatalf("after activation, the delivered fact again: %+v, %v", res, err)
	}
	statement := consultation.DailyAllowanceStatementRecorded{StatementID: "IJ-1", PeriodStart: "2026-01-05",
		PeriodEnd: "2026-01-18", Days: 14, GrossCents: 64_540, NetCents: 60_010, PaidOn: "2026-01-25"}
	res, err = f.h.RecordFinanceFactByNIR(caseCtx(t), parkingMeta(), n, statement)
	if err != nil || res.Parked || res.MemberID != memberID || res.Position == 0 {
		t.Fatalf("after activation, a new fact: %+v, %v", res, err)
	}
	if p := f.load(t, f.parkedStream()); len(p) != 3 {
		t.Fatalf("a fact parked after activation: %d events", len(p))
	}
}

// A NIR outside the insured-person reference is refused, and nothing is written.
func TestParkingRefusesAPersonOutsideTheReference(t *testing.T) {
	f := newParkingFixture(t)
	_, err := f.h.RecordFinanceFactByNIR(caseCtx(t), parkingMeta(), parkingParse(t, parkingNIROutside), parkingPayment)
	if !errors.Is(err, consultation.ErrNotInsured) || failure.KindOf(err) != failure.Rule ||
		failure.CodeOf(err) != "consultation.not_insured" {
		t.Fatalf("err %v", err)
	}
	for _, r := range f.env.AllRecords(t) {
		if strings.HasPrefix(r.StreamID, consultation.ParkedCategory) || strings.HasPrefix(r.StreamID, consultation.Category) {
			t.Errorf("written: %s", r.StreamID)
		}
	}
	if _, err := f.h.RecordFinanceFactByNIR(caseCtx(t), parkingMeta(), parkingParse(t, parkingNIR),
		consultation.PaymentRecorded{PaymentID: "x y"}); failure.KindOf(err) != failure.Invalid {
		t.Errorf("an invalid fact: %v", err)
	}
}

// The account opens between the look-up and the park (its Registered event may already have been handled): the
// park sees it and delivers at once.
func TestParkingDuringAnActivationDeliversAtOnce(t *testing.T) {
	f := newParkingFixture(t)
	var memberID uuid.UUID
	hook := func() { memberID = f.openAccount(t) }
	f.store.beforePark.Store(&hook)
	res, err := f.h.RecordFinanceFactByNIR(caseCtx(t), parkingMeta(), parkingParse(t, parkingNIR), parkingPayment)
	if err != nil || res.Parked || memberID == uuid.Nil || res.MemberID != memberID || res.Position == 0 {
		t.Fatalf("park during activation: %+v, %v", res, err)
	}
	if h := f.load(t, event.NewStreamID(consultation.Category, memberID)); len(h) != 1 || h[0].Event != any(parkingPayment) {
		t.Fatalf("member history: %+v", h)
	}
	if d, err := f.h.DeliverParkedFinanceFacts(caseCtx(t), parkingMeta(), memberID); err != nil || d.Delivered != 0 {
		t.Fatalf("the reaction, afterwards: %+v, %v", d, err)
	}
}

// A parked fact whose id the member's history already holds with other data is refused, once, with its code.
func TestParkingRefusesAConflictingFactAtDelivery(t *testing.T) {
	f := newParkingFixture(t)
	if _, err := f.h.RecordFinanceFactByNIR(caseCtx(t), parkingMeta(), parkingParse(t, parkingNIR), parkingPayment); err != nil {
		t.Fatal(err)
	}
	memberID := f.openAccount(t)
	other := parkingPayment
	other.AmountCents = 1
	if _, err := f.h.RecordFinanceFact(caseCtx(t), parkingMeta(), memberID, other); err != nil {
		t.Fatal(err)
	}
	d, err := f.h.DeliverParkedFinanceFacts(caseCtx(t), parkingMeta(), memberID)
	if err != nil || d.Delivered != 0 || d.Refused != 1 {
		t.Fatalf("delivery: %+v, %v", d, err)
	}
	parked := f.load(t, f.parkedStream())
	want := consultation.ParkedFactsDelivered{MemberID: memberID, Delivered: []consultation.FactRef{},
		Refused: []consultation.RefusedFact{{Kind: "payment", ID: "PF-2025-12-42", Code: "consultation.conflicting_record"}}}
	if len(parked) != 2 || !reflect.DeepEqual(parked[1].Event, want) {
		t.Fatalf("parked stream: %+v", parked)
	}
	if h := f.load(t, event.NewStreamID(consultation.Category, memberID)); len(h) != 1 || h[0].Event != any(other) {
		t.Fatalf("member history: %+v", h)
	}
	if d, err := f.h.DeliverParkedFinanceFacts(caseCtx(t), parkingMeta(), memberID); err != nil || d != (command.ParkedDelivery{}) {
		t.Fatalf("delivery again: %+v, %v", d, err)
	}
	if _, err := f.h.DeliverParkedFinanceFacts(caseCtx(t), parkingMeta(), uuid.New()); !errors.Is(err, member.ErrNotFound) {
		t.Errorf("delivery to an unknown member: %v", err)
	}
}
