package command

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
)

// ErrErasureForbidden: an erasure or a legal hold decided by someone other than an administrator or the system.
var ErrErasureForbidden = failure.New(failure.Forbidden, "member.erasure_forbidden",
	"only an administrator or the system may erase member data or place legal holds")

// OpenRequests counts a member's requests still open (not decided, withdrawn nor lapsed); cmd wires it to the
// memberrequests read model (*memberrequests.Queries implements it).
type OpenRequests interface {
	OpenRequestCount(ctx context.Context, memberID uuid.UUID) (int, error)
}

// WithOpenRequests returns a copy of h whose EraseMemberData asks o for the member's open requests. Without it,
// EraseMemberData refuses to run (it never erases without having checked).
func (h *Members) WithOpenRequests(o OpenRequests) *Members {
	c := *h
	c.openRequests = o
	return &c
}

// ErasureResult is a recorded erasure: the subjects whose data keys the privacy reaction destroys.
type ErasureResult struct {
	Result
	Subjects []uuid.UUID
}

// EraseMemberData records DataErased on member-<memberID> for reason (member.ErasureRequested,
// member.ErasureRetentionEnded) and ticket (the reference of the request in the fund's records; empty only for
// the system's retention): the privacy reaction then destroys the data keys of the member and of the registration
// that opened the account, and the projections show "données effacées". Meta.Actor must be an administrator or the
// system (member.erasure_forbidden, Forbidden). Errors: erasure.reason_invalid, ticket.invalid (Invalid);
// member.not_found; member.legal_hold and member.open_requests (Rule) while a legal hold is in force or a request
// of the member is open; member.erased (Rule) for a member already erased under another ticket. The same erasure
// again (same ticket, or same Meta.CommandID) records nothing and succeeds, with the subjects of the first.
func (h *Members) EraseMemberData(ctx context.Context, m Meta, memberID uuid.UUID, reason, ticket string) (ErasureResult, error) {
	const op = "command.EraseMemberData"
	if err := adminOrSystem(m); err != nil {
		return ErasureResult{}, failure.Op(op, err)
	}
	if h.openRequests == nil {
		return ErasureResult{}, failure.Opf(op, "no open-requests port (Members.WithOpenRequests)")
	}
	if memberID == uuid.Nil {
		return ErasureResult{}, failure.Op(op, member.ErrNotFound)
	}
	open, err := h.openRequests.OpenRequestCount(ctx, memberID)
	if err != nil {
		return ErasureResult{}, failure.Opf(op, "open requests: %w", err)
	}
	now := h.clock().UTC()
	m = h.withCommandID(m)
	stream := event.NewStreamID(member.Category, memberID)
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = memberRetries
	commit, err := h.decideOn(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		mm := member.Rehydrate(history)
		err := mm.EraseData(memberID, reason, ticket, open, now)
		return mm.Events(), err
	}, nil)
	if err != nil {
		return ErasureResult{}, failure.Op(op, err)
	}
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return ErasureResult{}, failure.Op(op, err)
	}
	res := ErasureResult{Result: Result{Position: commit.Position}}
	for _, env := range history {
		if e, ok := env.Event.(member.DataErased); ok {
			res.Subjects = e.Subjects
			break
		}
	}
	return res, nil
}

// PlaceLegalHold records LegalHoldPlaced{ticket, reason} on member-<memberID>: no erasure until it is lifted. The
// same ticket in force records nothing. Meta.Actor must be an administrator or the system. Errors: ticket.invalid,
// legal_hold.reason_invalid (Invalid); member.not_found; member.erased; member.erasure_forbidden.
func (h *Members) PlaceLegalHold(ctx context.Context, m Meta, memberID uuid.UUID, ticket, reason string) (Result, error) {
	return h.onHold(ctx, "command.PlaceLegalHold", m, memberID, func(mm *member.Member) error {
		return mm.PlaceLegalHold(ticket, reason, h.clock().UTC())
	})
}

// LiftLegalHold records LegalHoldLifted{ticket} on member-<memberID>. Errors: ticket.invalid; member.not_found;
// member.erased; legal_hold.not_found (NotFound) when no hold of that ticket is in force;
// member.erasure_forbidden.
func (h *Members) LiftLegalHold(ctx context.Context, m Meta, memberID uuid.UUID, ticket string) (Result, error) {
	return h.onHold(ctx, "command.LiftLegalHold", m, memberID, func(mm *member.Member) error {
		return mm.LiftLegalHold(ticket, h.clock().UTC())
	})
}

func (h *Members) onHold(ctx context.Context, op string, m Meta, memberID uuid.UUID, decide func(*member.Member) error) (Result, error) {
	if err := adminOrSystem(m); err != nil {
		return Result{}, failure.Op(op, err)
	}
	commit, err := h.onMember(ctx, m, memberID, h.clock().UTC(), decide, nil)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// adminOrSystem refuses a Meta whose actor is not an administrator or the system (an empty actor too: these
// commands never default to the member).
func adminOrSystem(m Meta) error {
	if r := m.Actor.Role; m.Actor.ID == "" || (r != event.RoleAdmin && r != event.RoleSystem) {
		return ErrErasureForbidden
	}
	return nil
}

// erasedAsUnknown answers for an erased account what an unknown one gets (login, password reset): no enumeration.
func erasedAsUnknown(err error) error {
	if errors.Is(err, member.ErrErased) {
		return member.ErrInvalidCredentials
	}
	return err
}
