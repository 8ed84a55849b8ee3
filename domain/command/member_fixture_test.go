package command_test

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/insured"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
	"github.com/msa-dossier/dossier/domain/registration"
)

// Every top-level name here starts with "member": other command tests share the package.

// The people of these tests: synthetic valid NIRs (keys computed independently; see domain/nir's tests).
const (
	memberNIRParis   = "185037511504216" // male, March 1985
	memberNIRAjaccio = "292112A00401759" // female, November 1992
	memberNIRAbroad  = "188099935004524" // male, September 1988
	memberPassword   = "Trois pommes vertes au jardin"
	memberPassword2  = "Le chat dort sur le canapé bleu"
)

// memberJean is Jean Dupont's registration form (insured by memberFixture.insureJean).
var memberJean = command.RegisterInput{NIR: "1 85 03 75 115 042", Key: "16", LastName: "Dupont", FirstName: "Jean",
	BirthDate: "1985-03-12", Email: "jean.dupont@example.fr", MobilePhone: "06 12 34 56 78", TermsAccepted: true}

// memberClock is a settable clock shared by the handler and the test.
type memberClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *memberClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *memberClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// memberFailingStore is the real store with one injected failure: the next Update on a stream of category fail
// returns an error before anything is written, to test a command interrupted between two appends.
type memberFailingStore struct {
	command.EventStore
	mu   sync.Mutex
	fail string
}

func (s *memberFailingStore) FailNext(category string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = category
}

func (s *memberFailingStore) Update(ctx context.Context, stream event.StreamID, cmd event.Command, decide func([]event.Envelope) ([]any, error)) (event.Commit, error) {
	s.mu.Lock()
	fail := s.fail != "" && s.fail == stream.Category
	if fail {
		s.fail = ""
	}
	s.mu.Unlock()
	if fail {
		return event.Commit{}, failure.Errorf(failure.Unavailable, "injected failure on %s", stream.Category)
	}
	return s.EventStore.Update(ctx, stream, cmd, decide)
}

type memberFixture struct {
	h       handlers
	env     *kurrentdbtest.Env
	store   *kurrentdb.Store
	failing *memberFailingStore
	keys    *keyedhash.Hasher
	hasher  *credentials.Hasher
	clock   *memberClock
}

func memberCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newMemberFixture starts an in-memory node and the handlers over it with a real keyed hash under a random key,
// argon2id at the OWASP minimum (for speed) and the real insured-person reference.
func newMemberFixture(t *testing.T) *memberFixture {
	t.Helper()
	env := kurrentdbtest.Start(t, registration.Definitions(), member.Definitions(), insured.Definitions())
	store := env.Store
	key := make([]byte, keyedhash.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keys, err := keyedhash.New(key)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := credentials.NewHasher(credentials.Config{Params: credentials.Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	if !hasher.Params().OWASPMinimum() {
		t.Fatal("test hasher below the OWASP minimum")
	}
	clock := &memberClock{now: time.Date(2026, time.November, 25, 9, 30, 0, 0, time.UTC)}
	failing := &memberFailingStore{EventStore: store}
	h, err := newHandlers(testDeps{Store: failing, Keys: keys, Hasher: hasher,
		Insured: insured.NewReference(store, keys), Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f := &memberFixture{h: h, env: env, store: store, failing: failing, keys: keys, hasher: hasher, clock: clock}
	f.insure(t, memberNIRParis, "DUPONT", "Jean Pierre", "1985-03-12")
	f.insure(t, memberNIRAjaccio, "Le Gall", "Léa", "1992-11-04")
	return f
}

// insure appends the person to the insured-person reference, as the importer does.
func (f *memberFixture) insure(t *testing.T, nirText, last, first, birth string) {
	t.Helper()
	n, err := nir.Parse(nirText)
	if err != nil {
		t.Fatal(err)
	}
	b, err := insured.ParseDate(birth)
	if err != nil {
		t.Fatal(err)
	}
	id, err := insured.NewIdentity(n, last, first, b, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
		Actor: event.Actor{ID: "admin/import-insured", Role: event.RoleSystem}, OccurredAt: f.clock.Now()}}
	if _, err := f.store.Update(memberCtx(t), insured.StreamFor(f.keys, n), cmd, func(h []event.Envelope) ([]any, error) {
		events, _, err := insured.Decide(h, id)
		return events, err
	}); err != nil {
		t.Fatal(err)
	}
}

// memberAnonymous is the Meta of an anonymous request (a form, a login) with a fresh command id.
func memberAnonymous() command.Meta {
	return command.Meta{Actor: event.Actor{ID: "anonymous", Role: event.RoleMember}, CorrelationID: uuid.New(), CommandID: uuid.New()}
}

// memberOf is the Meta of a request by member id.
func memberOf(id uuid.UUID) command.Meta {
	return command.Meta{Actor: event.Actor{ID: id.String(), Role: event.RoleMember}, CorrelationID: uuid.New(), CommandID: uuid.New()}
}

func (f *memberFixture) events(t *testing.T, stream event.StreamID) []any {
	t.Helper()
	h, err := f.store.Load(memberCtx(t), stream)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]any, len(h))
	for i, env := range h {
		out[i] = env.Event
	}
	return out
}

func memberRegistrationStream(id uuid.UUID) event.StreamID {
	return event.NewStreamID(registration.Category, id)
}

func memberStream(id uuid.UUID) event.StreamID { return event.NewStreamID(member.Category, id) }

func memberResetStream(id uuid.UUID) event.StreamID {
	return event.NewStreamID(member.PasswordResetCategory, id)
}

func (f *memberFixture) claimStream(t *testing.T, nirText string) event.StreamID {
	t.Helper()
	n, err := nir.Parse(nirText)
	if err != nil {
		t.Fatal(err)
	}
	return event.NewStreamID(member.ClaimCategory, f.keys.StreamFor(member.ClaimCategory, n.Body()))
}

// allRecords reads the whole log with the official client, without the store's own events.
func (f *memberFixture) allRecords(t *testing.T) []*esdb.RecordedEvent { return f.env.AllRecords(t) }

// countRecords counts the records whose stream name starts with prefix.
func (f *memberFixture) countRecords(t *testing.T, prefix string) int {
	t.Helper()
	n := 0
	for _, r := range f.allRecords(t) {
		if strings.HasPrefix(r.StreamID, prefix) {
			n++
		}
	}
	return n
}

// register submits a form that must be accepted (whatever the outcome behind it).
func (f *memberFixture) register(t *testing.T, in command.RegisterInput) command.RegisterResult {
	t.Helper()
	res, err := f.h.Register(memberCtx(t), memberAnonymous(), in)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if res.RegistrationID == uuid.Nil || res.Position == 0 {
		t.Fatalf("Register result: %+v", res)
	}
	return res
}

// activationCode is the code of the last CodeIssued of a registration, as the mail reaction computes it.
func (f *memberFixture) activationCode(t *testing.T, id uuid.UUID) string {
	t.Helper()
	seq := 0
	for _, e := range f.events(t, memberRegistrationStream(id)) {
		if c, ok := e.(registration.CodeIssued); ok {
			seq = c.Sequence
		}
	}
	if seq == 0 {
		t.Fatal("no code issued")
	}
	return command.ActivationCode(f.keys, id, seq)
}

// openAccount registers and activates Jean Dupont with memberPassword and returns his member id.
func (f *memberFixture) openAccount(t *testing.T) uuid.UUID {
	t.Helper()
	reg := f.register(t, memberJean)
	res, err := f.h.Activate(memberCtx(t), memberAnonymous(), reg.RegistrationID, f.activationCode(t, reg.RegistrationID), memberPassword)
	if err != nil {
		t.Fatalf("Activate: %v", err)
	}
	return res.MemberID
}

// wrongCode is a well-formed code different from right.
func memberWrongCode(right string) string {
	if right == "00000000" {
		return "11111111"
	}
	return "00000000"
}

func memberWant(t *testing.T, err error, kind failure.Kind, code, field string) {
	t.Helper()
	if err == nil || failure.KindOf(err) != kind || failure.CodeOf(err) != code || failure.FieldOf(err) != field {
		t.Fatalf("error %v (kind %s, code %s, field %q), want kind %s, code %s, field %q", err, failure.KindOf(err),
			failure.CodeOf(err), failure.FieldOf(err), kind, code, field)
	}
}
