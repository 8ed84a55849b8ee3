package httpapi

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sessions"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/simulation"
	"github.com/msa-dossier/dossier/domain/staff"
)

// noPasswords is a command.PasswordHasher for handlers whose tests never check a password.
type noPasswords struct{}

func (noPasswords) Hash(context.Context, string) (string, error)         { return "", nil }
func (noPasswords) Verify(context.Context, string, string) (bool, error) { return false, nil }
func (noPasswords) VerifyDummy(context.Context, string) error            { return nil }

// simulationServer is a server with real sessions (SQLite) and real commands (an in-memory event store).
type simulationServer struct {
	*Server
	env      *kurrentdbtest.Env
	sessions *sessions.Store
}

func newSimulationServer(t *testing.T) *simulationServer {
	t.Helper()
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sessions.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	env := kurrentdbtest.Start(t, simulation.Definitions(), staff.Definitions(), servicerequest.Definitions())
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	store := sessions.New(db, sessions.Policy{}, nil)
	return &simulationServer{Server: newTestServer(t, withCommands(t, Deps{Sessions: store}, env.Store, keys, noPasswords{}, nil)),
		env: env, sessions: store}
}

// login opens a session of kind for subject and returns its token. A staff session is also recorded on the staff
// stream, as a real login records it (StaffSession refuses sessions the stream does not show open).
func (s *simulationServer) login(t *testing.T, subject uuid.UUID, kind string) string {
	t.Helper()
	token, digest := credentials.NewToken()
	id := uuid.New()
	if kind == kindStaff {
		cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
			Actor: event.Actor{ID: subject.String(), Role: event.RoleCaseworker}, OccurredAt: time.Now().UTC()}}
		if _, err := s.env.Store.Update(context.Background(), staff.StreamFor(subject), cmd, func([]event.Envelope) ([]any, error) {
			return []any{staff.LoggedIn{SessionID: id, Step: 1}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.sessions.Create(context.Background(), digest, id, subject, kind); err != nil {
		t.Fatal(err)
	}
	return token
}

// staffMember opens a caseworker's account (written directly: staff logins are not the subject here).
func (s *simulationServer) staffMember(t *testing.T) uuid.UUID {
	t.Helper()
	id := uuid.New()
	cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
		Actor: event.Actor{ID: uuid.NewString(), Role: event.RoleAdmin}, OccurredAt: time.Now().UTC()}}
	if _, err := s.env.Store.Update(context.Background(), staff.StreamFor(id), cmd, func([]event.Envelope) ([]any, error) {
		return []any{staff.Created{Login: "agent-" + id.String()[:8], Name: "Agent", Roles: []string{staff.RoleCaseworker}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	return id
}

// saved returns the events of a member's saved-estimates stream.
func (s *simulationServer) saved(t *testing.T, member uuid.UUID) []event.Envelope {
	t.Helper()
	h, err := s.env.Store.Load(context.Background(), event.NewStreamID(simulation.SavedCategory, member))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSimulationSaveNeedsAMemberSession: the estimate stays open to anyone (also with a stale cookie); saving it
// needs a member session, is refused with the house error body otherwise, and writes nothing when refused.
func TestSimulationSaveNeedsAMemberSession(t *testing.T) {
	s := newSimulationServer(t)
	const path = "/v1/simulations/nsa-contributions"
	const input = `"income_cents": 3000000, "status": "chef_exploitation"`
	jsonBody := map[string]string{"Content-Type": "application/json"}
	with := func(kv ...string) map[string]string {
		h := map[string]string{"Content-Type": "application/json"}
		for i := 0; i+1 < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}
	stale, _ := credentials.NewToken() // well formed, opens no session
	alice := uuid.New()
	aliceToken := s.login(t, alice, kindMember)
	staffToken := s.login(t, s.staffMember(t), kindStaff)

	anonymous := do(t, s.Handler(), "POST", path, "{"+input+"}", jsonBody)
	var estimate simulationBody
	if anonymous.Code != 200 || json.Unmarshal(anonymous.Body.Bytes(), &estimate) != nil || estimate.SavedID != uuid.Nil || !estimate.SavedAt.IsZero() ||
		estimate.Position != "" || anonymous.Header().Get(PositionHeader) != "" || estimate.TotalCents == 0 {
		t.Fatalf("anonymous estimate: %d %s", anonymous.Code, anonymous.Body)
	}

	refusals := []struct {
		name       string
		body       string
		hdr        map[string]string
		wantStatus int
		wantCode   string
	}{
		{"save without a session", `{` + input + `, "save": true}`, jsonBody, 401, "simulation.login_required"},
		{"save with a stale session", `{` + input + `, "save": true}`, with("Authorization", "Bearer "+stale), 401, "session.invalid"},
		{"save with a malformed token", `{` + input + `, "save": true}`, with("Authorization", "Bearer nope"), 401, "session.invalid"},
		{"save with a staff session", `{` + input + `, "save": true}`, with("Authorization", "Bearer "+staffToken), 403, "session.member_required"},
		{"save with invalid input", `{"income_cents": -1, "status": "astronaute", "save": true}`, with("Authorization", "Bearer "+aliceToken), 422, "request.form_invalid"},
		{"save with a bad Idempotency-Key", `{` + input + `, "save": true}`, with("Authorization", "Bearer "+aliceToken, IdempotencyKeyHeader, "abc"), 400, "request.invalid_idempotency_key"},
		{"a save that is not a boolean", `{` + input + `, "save": "yes"}`, with("Authorization", "Bearer "+aliceToken), 400, "request.malformed_json"},
	}
	for _, tt := range refusals {
		rec := do(t, s.Handler(), "POST", path, tt.body, tt.hdr)
		if rec.Code != tt.wantStatus || errorCode(t, rec) != tt.wantCode {
			t.Errorf("%s: %d %s, want %d %s", tt.name, rec.Code, rec.Body, tt.wantStatus, tt.wantCode)
		}
		if rec.Header().Get(PositionHeader) != "" {
			t.Errorf("%s: a refusal carries a position", tt.name)
		}
	}
	if rec := do(t, s.Handler(), "POST", path, `{"income_cents": -1, "status": "astronaute", "save": true}`,
		with("Authorization", "Bearer "+aliceToken)); !strings.Contains(rec.Body.String(), `"field":"income_cents"`) ||
		!strings.Contains(rec.Body.String(), `"field":"status"`) {
		t.Errorf("invalid input does not name both fields: %s", rec.Body)
	}
	if h := s.saved(t, alice); len(h) != 0 {
		t.Fatalf("refused saves wrote %d events", len(h))
	}

	// a stale or malformed session does not stand in the way of the anonymous estimate
	for _, tok := range []string{stale, "nope"} {
		if rec := do(t, s.Handler(), "POST", path, "{"+input+"}", with("Authorization", "Bearer "+tok)); rec.Code != 200 {
			t.Errorf("estimate with token %q: %d %s", tok, rec.Code, rec.Body)
		}
	}
	// nor does a connected member's estimate without save store anything
	if rec := do(t, s.Handler(), "POST", path, "{"+input+"}", with("Authorization", "Bearer "+aliceToken)); rec.Code != 200 ||
		strings.Contains(rec.Body.String(), "saved_id") {
		t.Errorf("member's estimate without save: %d %s", rec.Code, rec.Body)
	}
	if h := s.saved(t, alice); len(h) != 0 {
		t.Fatalf("an estimate without save wrote %d events", len(h))
	}

	// the member saves, twice with one key: one event, the same answer, the same amounts as the anonymous estimate
	key := uuid.NewString()
	var first simulationBody
	for i := range 2 {
		rec := do(t, s.Handler(), "POST", path, `{`+input+`, "save": true}`, with("Authorization", "Bearer "+aliceToken, IdempotencyKeyHeader, key))
		var got simulationBody
		if rec.Code != 201 || json.Unmarshal(rec.Body.Bytes(), &got) != nil || got.SavedID == uuid.Nil || got.SavedAt.IsZero() ||
			got.Position == "" || rec.Header().Get(PositionHeader) != got.Position {
			t.Fatalf("save %d: %d %s", i, rec.Code, rec.Body)
		}
		if i == 0 {
			first = got
		} else if got.SavedID != first.SavedID || !got.SavedAt.Equal(first.SavedAt) || got.Position != first.Position {
			t.Errorf("retry saved %s at %s, first %s at %s", got.SavedID, got.Position, first.SavedID, first.Position)
		}
		got.SavedID, got.SavedAt, got.Position = uuid.Nil, time.Time{}, ""
		if !reflect.DeepEqual(got, estimate) {
			t.Errorf("saved estimate differs from the anonymous one:\n%+v\n%+v", got, estimate)
		}
	}
	if h := s.saved(t, alice); len(h) != 1 {
		t.Fatalf("%d events after two saves with one key, want 1", len(h))
	}
}

// TestSimulationRoutesDocumentOptionalAuth: the estimate is documented as open to anyone with an optional member
// session; the list of saved estimates needs one.
func TestSimulationRoutesDocumentOptionalAuth(t *testing.T) {
	s := newTestServer(t, Deps{})
	doc := s.OpenAPI()
	ops := doc["paths"].(map[string]map[string]any)["/v1/simulations/nsa-contributions"]
	post, get := ops["post"].(map[string]any), ops["get"].(map[string]any)
	security := post["security"].([]map[string][]string)
	if len(security) != 3 || len(security[0]) != 0 || post["x-session-optional"] != true || post["x-session-kind"] != "member" {
		t.Errorf("POST security %v, optional %v", security, post["x-session-optional"])
	}
	if !strings.Contains(post["summary"].(string), "Nothing is stored unless") {
		t.Errorf("POST summary %q", post["summary"])
	}
	if get["x-session-kind"] != "member" || get["x-session-optional"] != nil {
		t.Errorf("GET is not a member route: %v", get)
	}
	rec := do(t, s.Handler(), "GET", "/v1/simulations/nsa-contributions", "", nil)
	if rec.Code != 401 || errorCode(t, rec) != "session.required" {
		t.Errorf("GET without a session: %d %s", rec.Code, rec.Body)
	}
}
