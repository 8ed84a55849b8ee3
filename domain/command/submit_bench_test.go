package command_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/staff"
)

// BenchmarkSubmitRequest: new submissions over the embedded node, whose cost is mostly the store's round trips.
// Self-contained, so the same file runs on an older checkout for a same-run comparison:
//
//	go test ./domain/command -run '^$' -bench BenchmarkSubmitRequest -benchtime 3000x -count 6
func BenchmarkSubmitRequest(b *testing.B) {
	env := kurrentdbtest.Start(b, servicerequest.Definitions(), staff.Definitions(), member.Definitions())
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		b.Fatal(err)
	}
	clock := &caseClock{now: time.Date(2026, time.March, 10, 13, 0, 0, 0, time.UTC)}
	h, err := newHandlers(testDeps{Store: env.Store, Keys: keys, Hasher: caseHasher{}, Clock: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	var form map[string]any
	if err := json.Unmarshal([]byte(caseForm), &form); err != nil {
		b.Fatal(err)
	}
	in := command.SubmitInput{Service: caseService, Form: form}
	memberID := uuid.New()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.SubmitRequest(b.Context(), command.Meta{CorrelationID: uuid.New(), CommandID: uuid.New()}, memberID, in); err != nil {
			b.Fatal(err)
		}
	}
}
