package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/adapters/sessions"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/projections"
)

// eraseCLI is the embedded default with one member account (written on disk) and the read models set up.
func eraseCLI(t *testing.T) (adminCLI, uuid.UUID, uuid.UUID) {
	t.Helper()
	cli := newAdminCLI(t)
	if err := os.MkdirAll(filepath.Dir(cli.keyPath), 0o700); err != nil {
		t.Fatal(err)
	}
	keys, err := keyedhash.LoadOrCreateKeyFile(cli.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	memberID, regID := uuid.New(), uuid.New()
	store, closeNode := memberNode(t, cli.eventsDir)
	cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
		Actor: event.Actor{ID: memberID.String(), Role: event.RoleMember}, OccurredAt: time.Now().UTC()}}
	if _, err := store.Update(testCtx(t), event.NewStreamID(member.Category, memberID), cmd, func([]event.Envelope) ([]any, error) {
		return []any{member.Registered{RegistrationID: regID, NIR: "1850375115042", Key: 16, LastName: "Dupont",
			FirstName: "Jean", BirthDate: "1985-03-12", Email: "jean@example.fr"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	closeNode()
	// The read models, as `dossier migrate` or `dossier serve` leave them (erase-member reads the open requests).
	db, err := cli.parse(t, "erase-member", "--member", memberID.String(), "--reason", "member_request",
		"--ticket", "T").EraseMember.open(testCtx(t), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := projections.Setup(testCtx(t), db, readModels(keys)...); err != nil {
		t.Fatal(err)
	}
	if err := sessions.Migrate(testCtx(t), db); err != nil {
		t.Fatal(err)
	}
	_, digest := credentials.NewToken() // the member is logged in
	if _, err := sessions.New(db, sessions.Policy{}, nil).Create(testCtx(t), digest, uuid.New(), memberID, "member"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	return cli, memberID, regID
}

// memberNode opens the on-disk node of dir with a store that knows the member events.
func memberNode(t *testing.T, eventsDir string) (*kurrentdb.Store, func()) {
	t.Helper()
	node, err := kurrentnode.Start(kurrentnode.Options{Dir: eventsDir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	client, err := kurrentdb.Connect(testCtx(t), node.ConnectionString(), kurrentdb.WithLogger(testLogger()))
	if err != nil {
		node.Close()
		t.Fatal(err)
	}
	registry, err := event.NewRegistry(member.Definitions())
	if err != nil {
		t.Fatal(err)
	}
	return kurrentdb.NewStore(client, kurrentdb.NewCodec(registry)), func() { client.Close(); node.Close() }
}

// runErasure runs `dossier admin args…` (erase-member or legal-hold place|lift) and returns what it printed.
func (c adminCLI) runErasure(t *testing.T, args ...string) (string, error) {
	t.Helper()
	a := c.parse(t, args...)
	var out bytes.Buffer
	var err error
	switch args[0] {
	case "erase-member":
		a.EraseMember.stdout = &out
		err = a.EraseMember.Run(testCtx(t), testLogger())
	case "legal-hold":
		if args[1] == "place" {
			a.LegalHold.Place.stdout = &out
			err = a.LegalHold.Place.Run(testCtx(t), testLogger())
		} else {
			a.LegalHold.Lift.stdout = &out
			err = a.LegalHold.Lift.Run(testCtx(t), testLogger())
		}
	}
	return out.String(), err
}

// The commands end to end in the embedded default: a hold refuses the erasure (code and sentence printed), its lift
// lets it through, a repeat records nothing, and the events say who acted.
func TestAdminEraseMemberCommand(t *testing.T) {
	cli, memberID, regID := eraseCLI(t)
	id := memberID.String()
	if _, err := cli.runErasure(t, "legal-hold", "place", "--member", id, "--ticket", "LIT-1", "--reason", "litigation"); err != nil {
		t.Fatal(err)
	}
	_, err := cli.runErasure(t, "erase-member", "--member", id, "--reason", "member_request", "--ticket", "DPO-7")
	if err == nil || !strings.Contains(err.Error(), "member.legal_hold") || !strings.Contains(err.Error(), "conservation légale") {
		t.Fatalf("erasure under a hold: %v, want the code and its sentence", err)
	}
	_, err = cli.runErasure(t, "legal-hold", "lift", "--member", id, "--ticket", "LIT-9")
	if err == nil || !strings.Contains(err.Error(), "legal_hold.not_found") {
		t.Fatalf("lift of an unknown hold: %v", err)
	}
	if _, err := cli.runErasure(t, "legal-hold", "lift", "--member", id, "--ticket", "LIT-1"); err != nil {
		t.Fatal(err)
	}
	out, err := cli.runErasure(t, "erase-member", "--member", id, "--reason", "member_request", "--ticket", "DPO-7")
	if err != nil {
		t.Fatalf("erase-member: %v\n%s", err, out)
	}
	if !strings.Contains(out, "subjects: "+id+", "+regID.String()) || !strings.Contains(out, "MemberDataErased is recorded") {
		t.Fatalf("output:\n%s", out)
	}
	if !strings.Contains(out, "sessions: 1 ended") {
		t.Fatalf("output:\n%s", out)
	}
	if _, err := cli.runErasure(t, "erase-member", "--member", id, "--reason", "member_request", "--ticket", "DPO-7"); err != nil {
		t.Fatalf("the same erasure again: %v", err)
	}
	_, err = cli.runErasure(t, "erase-member", "--member", id, "--reason", "retention_ended", "--ticket", "DPO-8")
	if err == nil || !strings.Contains(err.Error(), "member.erased") {
		t.Fatalf("another erasure: %v", err)
	}
	_, err = cli.runErasure(t, "erase-member", "--member", uuid.NewString(), "--reason", "member_request", "--ticket", "DPO-9")
	if err == nil || !strings.Contains(err.Error(), "member.not_found") {
		t.Fatalf("unknown member: %v", err)
	}
	if _, err := cli.runErasure(t, "erase-member", "--member", "jean", "--reason", "member_request", "--ticket", "T"); err == nil {
		t.Fatal("a member that is not an id was accepted")
	}

	store, closeNode := memberNode(t, cli.eventsDir)
	defer closeNode()
	h, err := store.Load(testCtx(t), event.NewStreamID(member.Category, memberID))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, env := range h {
		types = append(types, env.Type)
		if env.Type != member.TypeRegistered && env.Metadata.Actor != eraseMemberActor {
			t.Errorf("%s by %+v", env.Type, env.Metadata.Actor)
		}
	}
	want := []string{member.TypeRegistered, member.TypeLegalHoldPlaced, member.TypeLegalHoldLifted, member.TypeDataErased}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Fatalf("member stream %v, want %v", types, want)
	}
}
