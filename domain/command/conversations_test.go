package command_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/conversation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/staff"
)

// Every top-level name here starts with "conv": other command tests share the package.

type convFixture struct {
	env             *kurrentdbtest.Env
	h               *command.Conversations
	now             time.Time
	worker, other   uuid.UUID // caseworkers of retraite and of sante-c2s
	super           uuid.UUID // a supervisor
	member, member2 uuid.UUID
}

func newConvFixture(t *testing.T) *convFixture {
	env := kurrentdbtest.Start(t, conversation.Definitions(), staff.Definitions(), servicerequest.Definitions())
	f := &convFixture{env: env, now: time.Date(2026, 3, 6, 14, 0, 0, 0, time.UTC), // Friday 15:00 in Paris
		worker: uuid.New(), other: uuid.New(), super: uuid.New(), member: uuid.New(), member2: uuid.New()}
	for id, queue := range map[uuid.UUID]string{f.worker: "retraite", f.other: "sante-c2s", f.super: ""} {
		role := staff.RoleCaseworker
		if queue == "" {
			role = staff.RoleSupervisor
		}
		cmd := event.Command{Metadata: event.Metadata{CorrelationID: uuid.New(), CausationID: uuid.New(),
			CommandID: uuid.New(), Actor: event.Actor{ID: uuid.NewString(), Role: event.RoleAdmin}, OccurredAt: f.now}}
		if _, err := env.Store.Update(apptCtx(t), staff.StreamFor(id), cmd, func([]event.Envelope) ([]any, error) {
			return []any{staff.Created{Login: "agent-" + id.String()[:8], Name: "Agent", Roles: []string{role}},
				staff.QueuesAssigned{Queues: []string{queue}}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := command.NewConversations(command.Runtime{Store: env.Store, Clock: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

func (f *convFixture) stream(t *testing.T, id uuid.UUID) []event.Envelope {
	t.Helper()
	h, err := f.env.Store.Load(apptCtx(t), conversation.StreamID(id))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func convMember(id uuid.UUID) command.Meta {
	return command.Meta{Actor: event.Actor{ID: id.String(), Role: event.RoleMember}}
}

// TestConversationRules: the due date from the business calendar, idempotent start, another member's conversation
// not found, reply and close only by the holder, If-Match, a closed conversation refusing the member, read receipts
// once: every refusal records nothing.
func TestConversationRules(t *testing.T) {
	f := newConvFixture(t)
	ctx := apptCtx(t)
	key := uuid.New()
	m := convMember(f.member)
	m.CommandID = key
	in := command.StartConversation{Theme: "retraite", Subject: "Départ", Body: "Quand ?"}
	res, err := f.h.Start(ctx, m, f.member, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.h.Start(ctx, m, f.member, in)
	if err != nil || again.ID != res.ID || len(f.stream(t, res.ID)) != 1 {
		t.Fatalf("retry: %v %v, %d events", again, err, len(f.stream(t, res.ID)))
	}
	c := conversation.Fold(f.stream(t, res.ID))
	if want := conversation.Due(f.now, 16); !c.DueAt.Equal(want) || c.Queue != "retraite" || c.Subject != "Départ" {
		t.Fatalf("started: %+v, want due %v", c, want)
	}
	if _, err := f.h.Start(ctx, convMember(f.member), f.member, command.StartConversation{Theme: "retraite", Subject: "x",
		Body: "x", RequestID: uuid.New()}); !errors.Is(err, conversation.ErrRequestUnknown) {
		t.Errorf("unknown request: %v", err)
	}

	refused := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
		if n := len(f.stream(t, res.ID)); n != 1 {
			t.Fatalf("%s recorded something: %d events", what, n)
		}
	}
	_, err = f.h.MemberWrite(ctx, convMember(f.member2), f.member2, res.ID, "coucou")
	refused("another member writes", err, conversation.ErrNotFound)
	_, err = f.h.MemberRead(ctx, convMember(f.member2), f.member2, res.ID)
	refused("another member reads", err, conversation.ErrNotFound)
	_, err = f.h.Act(ctx, command.Meta{}, f.worker, res.ID, nil, command.ReplyConversation{Body: "Voici"})
	refused("reply before the claim", err, conversation.ErrNotClaimed)
	_, err = f.h.Act(ctx, command.Meta{}, f.other, res.ID, nil, command.ClaimConversation{})
	refused("claim outside one's queues", err, command.ErrOutsideQueues)
	stale := uint64(7)
	_, err = f.h.Act(ctx, command.Meta{}, f.worker, res.ID, &stale, command.ClaimConversation{})
	refused("stale If-Match", err, failure.Conflict)
	_, err = f.h.Act(ctx, command.Meta{Actor: event.Actor{ID: f.worker.String(), Role: event.RoleAuditor}}, f.worker, res.ID, nil, command.ClaimConversation{})
	refused("acting as auditor", err, command.ErrCaseRoleForbidden)

	rev := uint64(0)
	claimed, err := f.h.Act(ctx, command.Meta{}, f.worker, res.ID, &rev, command.ClaimConversation{})
	if err != nil || claimed.Revision != 1 {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	// A supervisor takes it back to the queue; the caseworker claims it again.
	if _, err := f.h.Act(ctx, command.Meta{}, f.super, res.ID, nil, command.ReleaseConversation{}); err != nil {
		t.Fatal(err)
	}
	if c := conversation.Fold(f.stream(t, res.ID)); c.Assignee != uuid.Nil {
		t.Fatalf("released: %+v", c)
	}
	if _, err := f.h.Act(ctx, command.Meta{}, f.super, res.ID, nil, command.ClaimConversation{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.Act(ctx, command.Meta{}, f.worker, res.ID, nil, command.ReleaseConversation{}); !errors.Is(err, conversation.ErrNotYours) {
		t.Errorf("caseworker releases the supervisor's: %v", err)
	}
	if _, err := f.h.Act(ctx, command.Meta{}, f.super, res.ID, nil, command.ReleaseConversation{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.Act(ctx, command.Meta{}, f.worker, res.ID, nil, command.ClaimConversation{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.h.Act(ctx, command.Meta{}, f.worker, res.ID, nil, command.ReplyConversation{Body: "Voici"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s, err := f.h.MemberRead(ctx, convMember(f.member), f.member, res.ID)
		if err != nil || s.Messages[1].ReadAt.IsZero() {
			t.Fatalf("member reads: %+v %v", s, err)
		}
	}
	receipts := 0
	for _, e := range f.stream(t, res.ID) {
		if r, ok := e.Event.(conversation.MessageRead); ok && r.Reader == conversation.ReaderMember {
			receipts++
		}
	}
	if receipts != 1 {
		t.Errorf("%d receipts of the reply, want 1", receipts)
	}
	f.now = f.now.Add(time.Hour)
	if _, err := f.h.MemberWrite(ctx, convMember(f.member), f.member, res.ID, "Merci"); err != nil {
		t.Fatal(err)
	}
	if c := conversation.Fold(f.stream(t, res.ID)); c.Status != conversation.StatusAwaitingReply || !c.DueAt.Equal(conversation.Due(f.now, 16)) {
		t.Errorf("after the member's answer: %+v", c)
	}
	if _, err := f.h.Act(ctx, command.Meta{}, f.worker, res.ID, nil, command.CloseConversation{}); err != nil {
		t.Fatal(err)
	}
	n := len(f.stream(t, res.ID))
	if _, err := f.h.MemberWrite(ctx, convMember(f.member), f.member, res.ID, "Encore"); !errors.Is(err, conversation.ErrClosed) || len(f.stream(t, res.ID)) != n {
		t.Errorf("write on a closed conversation: %v", err)
	}
}
