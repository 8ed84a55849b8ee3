package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/insured"
)

// importInsuredActor is who the import's events say acted: the command itself, run by an operator.
var importInsuredActor = event.Actor{ID: "admin/import-insured", Role: event.RoleSystem}

// AdminImportInsuredCmd is `dossier admin import-insured FILE.csv`. It prints a report (counts, then the rejected
// lines with their line number and reason code, never a NIR or a name) and exits non-zero if any line was rejected
// or the import stopped. Importing the same file again appends nothing.
//
// With the embedded event store, while `dossier serve` runs, the command talks to the server's node. A sample file
// of fictitious people is docs/samples/insured.csv.
type AdminImportInsuredCmd struct {
	Config `embed:""`
	File   string `arg:"" help:"CSV file in UTF-8: a header line nir;nom;prenom;date_naissance, then one person per line: NIR with its key, last name, first name, birth date YYYY-MM-DD. Columns separated by ';' or ','."`

	stdout io.Writer // where the report goes; nil: os.Stdout (tests set it)
}

// Run imports the file.
func (c *AdminImportInsuredCmd) Run(ctx context.Context, logger *slog.Logger) error {
	f, err := openCSV(c.File)
	if err != nil {
		return err
	}
	defer f.Close()
	keys, err := c.keyedHasher()
	if err != nil {
		return err
	}
	st, err := openStores(ctx, &c.Config, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	store, err := insuredStore(st.Events, st.Keys)
	if err != nil {
		return err
	}
	correlation := uuid.New()
	logger.Info("import insured people", "correlation_id", correlation, "event_store", st.EventStoreName)
	rep, err := insured.NewImporter(store, keys, time.Now).Import(ctx, f, importInsuredActor, correlation)
	if failure.KindOf(err) == failure.Invalid && rep.Lines == 0 {
		return fmt.Errorf("%s refused, nothing imported: %s: %w", c.File, failure.CodeOf(err), err)
	}
	out := c.stdout
	if out == nil {
		out = os.Stdout
	}
	printInsuredReport(out, rep)
	logger.Info("import insured people: done", "correlation_id", correlation, "lines", rep.Lines, "imported", rep.Imported,
		"corrected", rep.Corrected, "unchanged", rep.Unchanged, "rejected", len(rep.Rejected))
	if err != nil {
		return fmt.Errorf("import stopped (running it again is safe): %w", err)
	}
	if len(rep.Rejected) > 0 {
		return fmt.Errorf("%d line(s) rejected: see the report", len(rep.Rejected))
	}
	return nil
}

// insuredStore returns a store over client whose codec knows the reference's events. The importer reads and writes
// only insured-… streams, so it needs no other definitions; sealed by keys (see eventRegistry).
func insuredStore(client *kurrentdb.Client, keys *keystore.Store) (*kurrentdb.Store, error) {
	return eventStore(client, keys, insured.Definitions())
}

// printInsuredReport writes the report for the operator.
func printInsuredReport(w io.Writer, rep insured.Report) {
	fmt.Fprintf(w, "lines read: %d\nimported:   %d\ncorrected:  %d\nunchanged:  %d\nrejected:   %d\n",
		rep.Lines, rep.Imported, rep.Corrected, rep.Unchanged, len(rep.Rejected))
	for _, r := range rep.Rejected {
		fmt.Fprintf(w, "  line %d: %s: %s\n", r.Line, r.Code, r.Message)
	}
}
