package command

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
)

// The errors of queue membership and of staff access to cases. Each has a stable code and, as its message, the
// French sentence for the staff member. CaseMessages lists them with those of servicerequest.go.
var (
	// ErrQueueUnknown is a queue code the current catalogue does not list.
	ErrQueueUnknown = failure.New(failure.Invalid, "queue.unknown",
		"Cette file de traitement n'existe pas dans le catalogue des services.")
	// ErrQueueEmpty is a claim-next on a queue with no case left to take.
	ErrQueueEmpty = failure.New(failure.NotFound, "queue.empty",
		"Aucun dossier n'est disponible dans cette file pour le moment.")
	// ErrOutsideQueues refuses a caseworker's action on a case of a queue they do not belong to.
	ErrOutsideQueues = failure.New(failure.Forbidden, "case.outside_queues",
		"Ce dossier appartient à une file de traitement dont vous ne faites pas partie.")
	// ErrCaseRoleForbidden refuses a case action to a staff member who is neither caseworker nor supervisor (an
	// auditor, who never writes; an administrator) or whose account does not exist.
	ErrCaseRoleForbidden = failure.New(failure.Forbidden, "case.role_forbidden",
		"Votre rôle ne vous permet pas d'agir sur les dossiers.")
	// ErrSupervisorRequired refuses a reassignment by someone who is not a supervisor.
	ErrSupervisorRequired = failure.New(failure.Forbidden, "case.supervisor_required",
		"Seul un superviseur peut confier un dossier à un autre conseiller.")
	// ErrAssigneeIneligible refuses a reassignment to a staff member who may not work the case (no such account, not
	// a caseworker or supervisor, or a caseworker outside the case's queue).
	ErrAssigneeIneligible = failure.New(failure.Invalid, "case.assignee_ineligible",
		"Ce dossier ne peut être confié qu'à un conseiller de sa file de traitement ou à un superviseur.")
	// ErrQueueAssignmentForbidden refuses a queue assignment by someone who is not an administrator.
	ErrQueueAssignmentForbidden = failure.New(failure.Forbidden, "queue.assignment_forbidden",
		"Seul un administrateur peut affecter un agent à des files de traitement.")
)

// staffMember is what a case command needs to know of a staff member: roles and queues, read from the account's
// stream (not from a projection: a queue removed a moment ago is already gone).
type staffMember struct {
	id     uuid.UUID
	exists bool
	roles  []string
	queues []string
}

func (s staffMember) has(role string) bool { return slices.Contains(s.roles, role) }

// actingRole is the role a staff member acts in on cases: supervisor, else caseworker; "" for anyone else
// (auditors never write, administrators assign queues but do not work cases).
func (s staffMember) actingRole() event.Role {
	switch {
	case !s.exists:
		return ""
	case s.has(staff.RoleSupervisor):
		return event.RoleSupervisor
	case s.has(staff.RoleCaseworker):
		return event.RoleCaseworker
	}
	return ""
}

// mayWork reports whether the staff member may act on a case of queue: a supervisor on any queue, a caseworker on
// the queues they belong to. Errors: ErrCaseRoleForbidden, ErrOutsideQueues.
func (s staffMember) mayWork(queue string) error {
	switch s.actingRole() {
	case event.RoleSupervisor:
		return nil
	case event.RoleCaseworker:
		if slices.Contains(s.queues, queue) {
			return nil
		}
		return ErrOutsideQueues
	}
	return ErrCaseRoleForbidden
}

// loadStaffMember reads staff member id's roles and queues.
func (h *Handler) loadStaffMember(ctx context.Context, id uuid.UUID) (staffMember, error) {
	if id == uuid.Nil {
		return staffMember{id: id}, nil
	}
	history, err := h.Store.Load(ctx, staff.StreamFor(id))
	if err != nil {
		return staffMember{}, err
	}
	s := staff.Rehydrate(id, history)
	return staffMember{id: id, exists: s.Exists(), roles: s.Roles(), queues: foldQueues(history)}, nil
}

// foldQueues returns the queues of the last QueuesAssigned of a staff stream (none before the first).
func foldQueues(history []event.Envelope) []string {
	var queues []string
	for _, env := range history {
		if e, ok := env.Event.(staff.QueuesAssigned); ok {
			queues = slices.Clone(e.Queues)
		}
	}
	return queues
}

// normalizeQueues returns the queue codes trimmed, sorted and without duplicates, or ErrQueueUnknown (about the
// "queues" field) for a code the current catalogue does not list.
func normalizeQueues(queues []string) ([]string, error) {
	c := catalog.Current()
	out := make([]string, 0, len(queues))
	for _, q := range queues {
		q = strings.TrimSpace(q)
		if _, ok := c.Queue(q); !ok {
			return nil, failure.Field("queues", ErrQueueUnknown)
		}
		out = append(out, q)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// AssignStaffQueues replaces the queues staff member staffID belongs to (QueuesAssigned on staff-<id>; nothing is
// recorded when they do not change; an empty list removes every queue). It is an administrator's decision: when
// Meta.Actor.Role is set it must be admin or system (queue.assignment_forbidden otherwise); the HTTP layer also
// checks the caller's role. Errors: "queues" (queue.unknown), staff.not_found.
//
// Confidential queues (medical content) take any staff member for now: the staff account has no "medical service"
// attribute yet.
func (h *Handler) AssignStaffQueues(ctx context.Context, m Meta, staffID uuid.UUID, queues []string) (Result, error) {
	const op = "command.AssignStaffQueues"
	if r := m.Actor.Role; r != "" && r != event.RoleAdmin && r != event.RoleSystem {
		return Result{}, fmt.Errorf("%s: %w", op, ErrQueueAssignmentForbidden)
	}
	normalized, err := normalizeQueues(queues)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	if staffID == uuid.Nil {
		return Result{}, fmt.Errorf("%s: %w", op, staff.ErrNotFound)
	}
	stream := staff.StreamFor(staffID)
	cmd := h.command(m, stream)
	cmd.RetryOnConflict = staffRetries // the decision only depends on the account existing and its current queues
	commit, err := h.Store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		if !staff.Rehydrate(staffID, history).Exists() {
			return nil, staff.ErrNotFound
		}
		if slices.Equal(foldQueues(history), normalized) {
			return nil, nil
		}
		return []any{staff.QueuesAssigned{Queues: normalized}}, nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", op, err)
	}
	return Result{Position: commit.Position}, nil
}

// StaffQueues returns the queues staff member staffID belongs to (sorted; empty when none was assigned), read from
// the account's stream. staff.ErrNotFound if there is no such account.
func (h *Handler) StaffQueues(ctx context.Context, staffID uuid.UUID) ([]string, error) {
	const op = "command.StaffQueues"
	s, err := h.loadStaffMember(ctx, staffID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if !s.exists {
		return nil, fmt.Errorf("%s: %w", op, staff.ErrNotFound)
	}
	if s.queues == nil {
		return []string{}, nil
	}
	return s.queues, nil
}
