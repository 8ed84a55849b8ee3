package messaging_test

import (
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
)

// A mail goes to the member's email as it stood when its event was committed; an erased email is no email.
func TestMemberEmailAsOfAPosition(t *testing.T) {
	events := kurrentdbtest.Start(t, member.Definitions())
	ctx := ctxT(t)
	write := func(memberID uuid.UUID, v any) uint64 {
		cmd := uuid.New()
		c, err := events.Store.Append(ctx, event.NewStreamID(member.Category, memberID), esdb.Any{},
			event.Metadata{CorrelationID: cmd, CausationID: cmd, CommandID: cmd, OccurredAt: time.Now().UTC(),
				Actor: event.Actor{ID: memberID.String(), Role: event.RoleMember}}, v)
		if err != nil {
			t.Fatal(err)
		}
		return c.Position
	}
	alice, erased, nobody := uuid.New(), uuid.New(), uuid.New()
	registered := write(alice, member.Registered{RegistrationID: uuid.New(), Email: "alice@example.test",
		LastName: "Martin", FirstName: "Alice"})
	write(alice, member.EmailChanged{Email: "alice.martin@example.test"})
	write(erased, member.Registered{RegistrationID: uuid.New(), Email: event.ErasedText, LastName: "X", FirstName: "Y"})
	for _, c := range []struct {
		member   uuid.UUID
		position uint64
		want     string
	}{
		{alice, registered, "alice@example.test"},
		{alice, 0, "alice.martin@example.test"},
		{erased, 0, ""},
		{nobody, 0, ""},
	} {
		if got, err := messaging.MemberEmail(ctx, events.Store, c.member, c.position); err != nil || got != c.want {
			t.Errorf("MemberEmail(%s at %d) = %q, %v; want %q", c.member, c.position, got, err, c.want)
		}
	}
}
