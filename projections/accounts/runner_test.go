package accounts

import (
	"context"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/registration"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// The projection behind the real runner, fed by the embedded node through the codec: events as stored decode into
// the contract's types and reach the rows; other aggregates' events pass by.
func TestThroughTheRunner(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := projectionstest.Ctx(t)
		es := kurrentdbtest.Start(t, member.Definitions(), registration.Definitions(), staff.Definitions())
		appendTo := func(stream event.StreamID, at time.Time, events ...any) event.Commit {
			t.Helper()
			cmd := uuid.New()
			c, err := es.Store.Append(ctx, stream, esdb.Any{}, event.Metadata{CorrelationID: cmd, CausationID: cmd,
				CommandID: cmd, Actor: event.Actor{ID: stream.ID.String(), Role: event.RoleMember}, OccurredAt: at}, events...)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}

		memberID := uuid.New()
		ms := event.NewStreamID(member.Category, memberID)
		r := registered()
		appendTo(event.NewStreamID(registration.Category, r.RegistrationID), start, registration.Started{NIR: r.NIR,
			Key: r.Key, LastName: r.LastName, FirstName: r.FirstName, BirthDate: r.BirthDate, Email: r.Email})
		appendTo(ms, start, r, member.PasswordSet{Hash: "h", PolicyVersion: "1", Reason: "activation"})
		appendTo(event.NewStreamID(staff.Category, uuid.New()), start, staff.Created{Login: "a", Name: "A",
			Roles: []string{staff.RoleCaseworker}})
		last := appendTo(ms, start.Add(time.Hour), member.AddressChanged{Line1: "1 rue A", PostalCode: "75001",
			City: "Paris", Country: "FR", EffectiveFrom: "2025-05-01"})

		runner, err := projections.NewRunner(db, es.Source,
			projections.Options{Logger: projectionstest.Logger(), RetryDelay: 100 * time.Millisecond}, New())
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- runner.Run(runCtx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("runner: %v", err)
			}
		})
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
		defer wcancel()
		if err := runner.WaitFor(wctx, last.Position); err != nil {
			t.Fatal(err)
		}

		a, err := NewQueries(db, fixedClock(start.Add(2*time.Hour))).Get(ctx, memberID)
		if err != nil {
			t.Fatal(err)
		}
		if a.MemberID != memberID || a.NIR != r.NIR || a.Email != r.Email || a.Revision != 2 ||
			a.Position != last.Position || a.PasswordChangedAt == nil || !a.PasswordChangedAt.Equal(start) ||
			a.Address == nil || a.Address.City != "Paris" || a.Status != StatusActive {
			t.Errorf("account through the runner: %+v (address %+v)", a, a.Address)
		}
	})
}
