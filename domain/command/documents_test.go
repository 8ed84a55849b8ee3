package command_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/blobstore"
	"github.com/msa-dossier/dossier/adapters/filecheck"
	"github.com/msa-dossier/dossier/adapters/filecheck/filechecktest"
	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// Every top-level name here starts with "deposit": other command tests share the package.

type depositFixture struct {
	docs  *command.Documents
	env   *kurrentdbtest.Env
	blobs *blobstore.Store
	dir   string
}

func newDepositFixture(t testing.TB) *depositFixture {
	t.Helper()
	env := kurrentdbtest.Start(t, document.Definitions(), servicerequest.Definitions())
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	if err := keystore.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	ks, err := keystore.New(db, keystore.Config{KEK: bytes.Repeat([]byte{3}, keystore.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	u, _ := blobstore.FileURL(dir)
	blobs, err := blobstore.Open(context.Background(), u, ks)
	if err != nil {
		t.Fatal(err)
	}
	rt := command.Runtime{Store: env.Store}
	cases, err := command.NewCases(rt)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := command.NewDocuments(rt, filecheck.Check, blobs, cases, command.DocumentLimits{})
	if err != nil {
		t.Fatal(err)
	}
	return &depositFixture{docs: docs, env: env, blobs: blobs, dir: dir}
}

var depositForm = command.DepositForm{Subject: document.SubjectOther, Attested: true,
	Documents: []command.DepositDocument{{Nature: "bank_details", Person: "Alice Martin", Reason: "Changement de RIB"}}}

// referenced answers the sweeper from the recorded events themselves.
func (f *depositFixture) referenced(member uuid.UUID) blobstore.Referenced {
	return func(ctx context.Context, keys []string) (map[string]bool, error) {
		history, err := f.env.Store.Load(ctx, document.StreamID(member))
		if err != nil {
			return nil, err
		}
		out := map[string]bool{}
		for _, e := range history {
			if s, ok := e.Event.(document.Submitted); ok {
				for _, d := range s.Documents {
					for _, file := range d.Files {
						out[file.BlobKey] = true
					}
				}
			}
		}
		return out, nil
	}
}

func (f *depositFixture) stored(t testing.TB) []string {
	entries, err := os.ReadDir(filepath.Join(f.dir, "sha256"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestDepositCrashBetweenBlobAndEvent: a deposit whose process dies after its file is stored and before its event
// is appended leaves an orphan blob and no event (no reference to anything); the sweep deletes the orphan and keeps
// the recorded deposit's file, whose every reference resolves.
func TestDepositCrashBetweenBlobAndEvent(t *testing.T) {
	f := newDepositFixture(t)
	ctx := caseCtx(t)
	member := uuid.New()
	pdf := filechecktest.PDF("RIB")

	ok, err := f.docs.Begin(ctx, command.Meta{}, member, depositForm)
	if err != nil {
		t.Fatal(err)
	}
	if err := ok.AddFile(ctx, 0, "rib.pdf", pdf); err != nil {
		t.Fatal(err)
	}
	res, err := ok.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}

	crashed, err := f.docs.Begin(ctx, command.Meta{}, member, depositForm)
	if err != nil {
		t.Fatal(err)
	}
	if err := crashed.AddFile(ctx, 0, "rib-2.pdf", filechecktest.PDF("RIB 2")); err != nil {
		t.Fatal(err)
	}
	// The process dies here: neither Commit nor Abort runs.
	history, err := f.env.Store.Load(ctx, document.StreamID(member))
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 2 { // the first deposit's Submitted and Registered only
		t.Fatalf("events after the crash: %d", len(history))
	}
	if n := len(f.stored(t)); n != 2 {
		t.Fatalf("stored blobs before the sweep: %d, want 2 (one orphan)", n)
	}
	swept, err := f.blobs.Sweep(ctx, 0, f.referenced(member))
	if err != nil || swept != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", swept, err)
	}
	// Every reference resolves to a stored blob, whose content is the file as sent.
	key := res.Deposit.Documents[0].Files[0].BlobKey
	got, err := f.blobs.Get(ctx, member, key)
	if err != nil || !bytes.Equal(got, pdf) || res.Deposit.Documents[0].Files[0].SHA256 == "" {
		t.Fatalf("the recorded file after the sweep: %v", err)
	}
	if left := f.stored(t); len(left) != 1 || left[0] != key {
		t.Fatalf("blobs after the sweep: %v, want only %s", left, key)
	}
}

// TestDepositRefusedStoresNothing: a refused file after an accepted one leaves no blob once aborted, and no event.
func TestDepositRefusedStoresNothing(t *testing.T) {
	f := newDepositFixture(t)
	ctx := caseCtx(t)
	member := uuid.New()
	d, err := f.docs.Begin(ctx, command.Meta{}, member, depositForm)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AddFile(ctx, 0, "p1.png", filechecktest.PNG(20, 20)); err != nil {
		t.Fatal(err)
	}
	err = d.AddFile(ctx, 0, "p2.pdf", filechecktest.PDFWithJavaScript())
	if !errors.Is(err, document.ErrPDFActiveContent) {
		t.Fatalf("AddFile(scripted PDF) = %v", err)
	}
	d.Abort(ctx)
	if n := len(f.stored(t)); n != 0 {
		t.Fatalf("%d blobs left by a refused deposit", n)
	}
	if h, _ := f.env.Store.Load(ctx, document.StreamID(member)); len(h) != 0 {
		t.Fatalf("%d events for a refused deposit", len(h))
	}
}

// TestDepositRulesOnTheLinkedRequest: a deposit names only the member's own request; an information answer needs
// information awaited.
func TestDepositRulesOnTheLinkedRequest(t *testing.T) {
	f := newDepositFixture(t)
	ctx := caseCtx(t)
	form := depositForm
	form.Subject, form.RequestID = document.SubjectSupportingDocuments, uuid.New()
	if _, err := f.docs.Begin(ctx, command.Meta{}, uuid.New(), form); !errors.Is(err, document.ErrRequestNotFound) {
		t.Fatalf("a request that does not exist: %v", err)
	}
	form.RequestID = uuid.Nil
	if _, err := f.docs.Begin(ctx, command.Meta{}, uuid.New(), form); !errors.Is(err, document.ErrRequestRequired) {
		t.Fatalf("supporting documents without a request: %v", err)
	}
	other := depositForm
	other.RequestID = uuid.New()
	if _, err := f.docs.Begin(ctx, command.Meta{}, uuid.New(), other); !errors.Is(err, document.ErrRequestNotAllowed) {
		t.Fatalf("other documents naming a request: %v", err)
	}
	medical := depositForm
	medical.Documents = []command.DepositDocument{{Nature: "medical_certificate", Person: "A", Reason: "B"}}
	if _, err := f.docs.Begin(ctx, command.Meta{}, uuid.New(), medical); !errors.Is(err, document.ErrNatureMedical) {
		t.Fatalf("a medical nature: %v", err)
	}
}
