package main

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/casework"
	"github.com/msa-dossier/dossier/adapters/membermail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// TestReactionsReadinessNamesTheReactionsBehind: the "reactions" check of /readyz fails while a reaction that starts at
// the head of the log has no checkpoint, and its message names exactly those reactions, whichever they are.
func TestReactionsReadinessNamesTheReactionsBehind(t *testing.T) {
	db := sqldbtest.NewTarget(t, sqldb.SQLite).Open(t)
	ctx := testCtx(t)
	if err := messaging.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	handlers := headStartedReactions()
	for _, want := range append(membermail.Handlers(), casework.AcknowledgementHandler) {
		if !slices.Contains(handlers, want) {
			t.Fatalf("readiness does not wait for %s: %v", want, handlers)
		}
	}
	check := reactionsStarted(db, handlers...)
	started := func(name string) {
		t.Helper()
		if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO reaction_checkpoint (handler, position, updated_at) VALUES (?, ?, ?)`),
			name, 1, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	}
	behind := func(names ...string) {
		t.Helper()
		err := check(ctx)
		if err == nil {
			t.Fatalf("ready with %v behind", names)
		}
		for _, h := range handlers {
			if named := strings.Contains(err.Error(), h); named != slices.Contains(names, h) {
				t.Errorf("%q: names %s: %v, want %v", err, h, named, !named)
			}
		}
	}
	behind(handlers...)
	// Only the acknowledgement mail is behind: it alone is named (no more "mail reactions" in general).
	for _, h := range membermail.Handlers() {
		started(h)
	}
	behind(casework.AcknowledgementHandler)
	started(casework.AcknowledgementHandler)
	if err := check(ctx); err != nil {
		t.Fatalf("every reaction started: %v", err)
	}
}

// Once serving, one log line says where to look next: the OpenAPI document's URL and the README's first steps.
func TestServeSaysWhereToLookNext(t *testing.T) {
	var buf bytes.Buffer
	logNextSteps(slog.New(slog.NewTextHandler(&buf, nil)), "127.0.0.1:8080")
	line := buf.String()
	if strings.Count(line, "\n") != 1 || !strings.Contains(line, "http://127.0.0.1:8080/openapi.json") ||
		!strings.Contains(line, "First steps") {
		t.Errorf("next-steps line %q", line)
	}
}
