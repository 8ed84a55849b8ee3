package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// TestReactionsStatusSaysWhoRunsWhatAndTheLag: `dossier reactions status` names the replica holding each handler
// (or who held it last) and how long after its event the last event was handled (the mail lag of a mail handler).
func TestReactionsStatusSaysWhoRunsWhatAndTheLag(t *testing.T) {
	at := time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)
	cps := []messaging.CheckpointRow{
		{Handler: "casework.acknowledgement", Position: 42, UpdatedAt: at, LastRecordedAt: at.Add(-1500 * time.Millisecond)},
		{Handler: "membermail.activation", Position: 40, UpdatedAt: at},
	}
	holders := map[string]sqldb.LeaseHolder{
		"reaction.casework.acknowledgement": {Holder: "web-2-4711", Held: true},
		"reaction.membermail.activation":    {Holder: "web-1-99", Held: false},
	}
	var out bytes.Buffer
	if err := printReactions(&out, cps, holders); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "HELD BY") {
		t.Fatalf("status:\n%s", out.String())
	}
	if f := strings.Fields(lines[1]); f[0] != "casework.acknowledgement" || f[1] != "42" || f[3] != "1.5s" || f[4] != "web-2-4711" {
		t.Errorf("acknowledgement line: %q", lines[1])
	}
	if !strings.Contains(lines[2], "none (last: web-1-99)") || !strings.Contains(lines[2], "—") {
		t.Errorf("activation line: %q", lines[2])
	}
}
