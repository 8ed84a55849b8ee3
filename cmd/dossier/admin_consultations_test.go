package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/insured"
	"github.com/msa-dossier/dossier/domain/member"
)

// financeNode opens the on-disk node of dir with a store that knows the finance import's events.
func financeNode(t *testing.T, cli adminCLI) (*kurrentdb.Store, func()) {
	t.Helper()
	node, err := kurrentnode.Start(kurrentnode.Options{Dir: cli.eventsDir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	client, err := kurrentdb.Connect(testCtx(t), node.ConnectionString(), kurrentdb.WithLogger(testLogger()))
	if err != nil {
		node.Close()
		t.Fatal(err)
	}
	store, err := financeStore(client, cli.keys(t))
	if err != nil {
		t.Fatal(err)
	}
	return store, func() { client.Close(); node.Close() }
}

// The command end to end in the embedded default: a member with an account (claim + registration written on disk),
// a file with valid and invalid lines, run twice; the facts are in the member's finance stream.
func TestAdminImportFinanceCommand(t *testing.T) {
	cli := newAdminCLI(t)
	if err := os.MkdirAll(filepath.Dir(cli.keyPath), 0o700); err != nil {
		t.Fatal(err)
	}
	keys, err := keyedhash.LoadOrCreateKeyFile(cli.keyPath)
	if err != nil {
		t.Fatal(err)
	}
	memberID := uuid.New()
	store, closeNode := financeNode(t, cli)
	meta := func() event.Command {
		return event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(), CommandID: uuid.New(),
			Actor: event.Actor{ID: memberID.String(), Role: event.RoleMember}, OccurredAt: time.Now().UTC()}}
	}
	n := mustParseNIR(t, nirParis)
	claim := event.NewStreamID(member.ClaimCategory, keys.StreamFor(member.ClaimCategory, n.Body()))
	ajaccio := mustParseNIR(t, nirAjaccio) // in the insured-person reference, without an account
	for stream, e := range map[event.StreamID]any{
		claim: member.Claimed{MemberID: memberID},
		event.NewStreamID(member.Category, memberID): member.Registered{RegistrationID: uuid.New(), NIR: n.Body(), Key: 16,
			LastName: "Dupont", FirstName: "Jean", BirthDate: "1985-03-12", Email: "jean@example.fr", MobilePhone: "+33612345678"},
		insured.StreamFor(keys, ajaccio): insured.Recorded{NIR: ajaccio.Body(), Key: ajaccio.Key(), LastName: "Le Gall",
			FirstName: "Léa", BirthDate: "1992-11-04"},
	} {
		if _, err := store.Update(testCtx(t), stream, meta(), func([]event.Envelope) ([]any, error) { return []any{e}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	closeNode()

	file := filepath.Join(cli.dir, "finance.csv")
	content := "kind;nir;id;label;payment_kind;period_start;period_end;days;gross_cents;net_cents;amount_cents;paid_on;due_on\n" +
		"statement;" + nirParis + ";IJ-1;;;2026-01-05;2026-01-18;14;64540;60010;;2026-01-25;\n" +
		"payment;" + nirParis + ";PF-1;Allocations familiales;family_benefits;;;;;;14172;2025-12-05;\n" +
		"invoice;" + nirParis + ";F-1;Cotisations T1;;;;;;;123456;;2026-04-15\n" +
		"invoice;" + nirParis + ";F-2;Cotisations T2;;;;;;;-5;;2026-07-15\n" + // line 5: negative amount
		"payment;" + nirAjaccio + ";PF-9;Allocations;family_benefits;;;;;;100;2025-12-05;\n" + // line 6: no account: parked
		"refund;" + nirParis + ";R-1;;;;;;;;100;2025-12-05;\n" + // line 7: unknown kind
		"payment;185037511504217;PF-2;Allocations;family_benefits;;;;;;100;2025-12-05;\n" + // line 8: wrong NIR key
		"payment;188099935004524;PF-3;Allocations;family_benefits;;;;;;100;2025-12-05;\n" // line 9: not in the reference
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func() (string, error) {
		cmd := cli.parse(t, "import-finance", file).ImportFinance
		var out bytes.Buffer
		cmd.stdout = &out
		err := cmd.Run(testCtx(t), testLogger())
		return out.String(), err
	}
	out, err := run()
	if err == nil || !strings.Contains(out, "imported:   3") || !strings.Contains(out, "parked:     1") ||
		!strings.Contains(out, "rejected:   4") {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	for _, want := range []string{"line 5: consultation.amount_invalid", "line 7: consultation.unknown_fact",
		"line 8: nir.invalid_key", "line 9: consultation.not_insured"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "line 6") {
		t.Errorf("the parked line is reported as rejected:\n%s", out)
	}
	if strings.Contains(out, "18503751150421") || strings.Contains(out, "292112A") || strings.Contains(out, "18809993500") {
		t.Errorf("a NIR in the report:\n%s", out)
	}
	out, err = run()
	if !strings.Contains(out, "imported:   0") || !strings.Contains(out, "unchanged:  3") || !strings.Contains(out, "parked:     1") {
		t.Fatalf("second run: %v\n%s", err, out)
	}

	store, closeNode = financeNode(t, cli)
	defer closeNode()
	h, err := store.Load(testCtx(t), event.NewStreamID(consultation.Category, memberID))
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || h[0].Type != consultation.TypeStatementRecorded || h[2].Event != any(consultation.InvoiceIssued{
		InvoiceID: "F-1", Label: "Cotisations T1", AmountCents: 123456, DueOn: "2026-04-15"}) {
		t.Errorf("finance stream: %+v", h)
	}
	if h[0].Metadata.Actor != importFinanceActor {
		t.Errorf("actor %+v", h[0].Metadata.Actor)
	}
	parked, err := store.Load(testCtx(t), event.NewStreamID(consultation.ParkedCategory,
		keys.StreamFor(consultation.ParkedCategory, ajaccio.Body())))
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 1 || parked[0].Type != consultation.TypeFactParked || parked[0].Metadata.Actor != importFinanceActor {
		t.Errorf("parked stream (parked once, whatever the runs): %+v", parked)
	}
}
