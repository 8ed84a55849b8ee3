package command

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/staff"
)

// The errors of queue membership and of staff access to cases. Each has a stable code; the French sentence for the
// staff member is in domain/messages.
var (
	// ErrQueueUnknown is a queue code the current catalogue does not list.
	ErrQueueUnknown = failure.New(failure.Invalid, "queue.unknown", "queue not in the catalogue")
	// ErrQueueEmpty is a claim-next on a queue with no case left to take.
	ErrQueueEmpty = failure.New(failure.NotFound, "queue.empty", "no case available in this queue")
	// ErrOutsideQueues refuses a caseworker's action on a case of a queue they do not belong to.
	ErrOutsideQueues = failure.New(failure.Forbidden, "case.outside_queues",
		"case belongs to a queue the caller is not in")
	// ErrCaseRoleForbidden refuses a case action to a staff member who is neither caseworker nor supervisor (an
	// auditor, who never writes; an administrator) or whose account does not exist.
	ErrCaseRoleForbidden = failure.New(failure.Forbidden, "case.role_forbidden", "role may not act on cases")
	// ErrSupervisorRequired refuses a reassignment by someone who is not a supervisor.
	ErrSupervisorRequired = failure.New(failure.Forbidden, "case.supervisor_required",
		"reassignment needs a supervisor")
	// ErrAssigneeIneligible refuses a reassignment to a staff member who may not work the case (no such account, not
	// a caseworker or supervisor, or a caseworker outside the case's queue).
	ErrAssigneeIneligible = failure.New(failure.Invalid, "case.assignee_ineligible",
		"assignee is neither in the case's queue nor a supervisor")
	// ErrQueueAssignmentForbidden refuses a queue assignment by someone who is not an administrator.
	ErrQueueAssignmentForbidden = failure.New(failure.Forbidden, "queue.assignment_forbidden",
		"queue assignment needs an administrator")
	// ErrQueueMedicalRoleRequired refuses to assign a confidential queue (medical content) to a staff member who does
	// not belong to the medical service (staff.RoleMedical).
	ErrQueueMedicalRoleRequired = failure.New(failure.Invalid, "queue.medical_role_required",
		"confidential queue needs the medical role")
	// ErrQueueMedicalOnly refuses a confidential queue (listing, claim-next) to a staff member outside the medical
	// service, supervisors and auditors included. Their actions on one of its cases answer servicerequest.not_found
	// instead: medical secrecy covers even the existence of the case.
	ErrQueueMedicalOnly = failure.New(failure.Forbidden, "queue.medical_only", "queue reserved to the medical service")
	// ErrAssigneeNotMedical refuses to reassign a confidential case to a staff member outside the medical service.
	ErrAssigneeNotMedical = failure.New(failure.Invalid, "case.assignee_medical_required",
		"confidential case needs an assignee with the medical role")
)

// confidential reports whether queue is confidential (medical content) in the current catalogue; an unknown queue
// is not.
func confidential(queue string) bool {
	q, ok := catalog.Current().Queue(queue)
	return ok && q.Confidential
}

// staffMember is what a case command needs to know of a staff member: roles and queues, read from the account's
// stream (not from a projection: a queue removed a moment ago is already gone).
type staffMember struct {
	id     uuid.UUID
	exists bool
	roles  []string
	queues []string
	// name and position are what a decision states of its author (CRPA L212-1).
	name, position string
}

func (s staffMember) has(role string) bool { return slices.Contains(s.roles, role) }

// medical reports whether the staff member belongs to the medical service.
func (s staffMember) medical() bool { return staff.MedicalService(s.roles) }

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
// the queues they belong to; a confidential queue only for members of the medical service, whatever their role.
// Errors: ErrCaseRoleForbidden, ErrQueueMedicalOnly, ErrOutsideQueues.
func (s staffMember) mayWork(queue string) error {
	role := s.actingRole()
	if role == "" {
		return ErrCaseRoleForbidden
	}
	if confidential(queue) && !s.medical() {
		return ErrQueueMedicalOnly
	}
	if role == event.RoleSupervisor || slices.Contains(s.queues, queue) {
		return nil
	}
	return ErrOutsideQueues
}

// mayRead reports whether the staff member may see queue and its cases: supervisors and auditors every queue,
// anyone else the queues they belong to; a confidential queue only members of the medical service. Errors:
// ErrQueueMedicalOnly, ErrOutsideQueues.
func (s staffMember) mayRead(queue string) error {
	if confidential(queue) && !s.medical() {
		return ErrQueueMedicalOnly
	}
	if s.has(staff.RoleSupervisor) || s.has(staff.RoleAuditor) || slices.Contains(s.queues, queue) {
		return nil
	}
	return ErrOutsideQueues
}

// loadStaffMember reads staff member id's roles and queues.
func (c *core) loadStaffMember(ctx context.Context, id uuid.UUID) (staffMember, error) {
	if id == uuid.Nil {
		return staffMember{id: id}, nil
	}
	history, err := c.loadStaffHistory(ctx, id, false)
	if err != nil {
		return staffMember{}, err
	}
	s := staff.Rehydrate(id, history)
	return staffMember{id: id, exists: s.Exists(), roles: s.Roles(), queues: foldQueues(history), name: s.Name(),
		position: s.Position()}, nil
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
// checks the caller's role. A confidential queue (medical content) is assigned only to a member of the medical
// service (staff.RoleMedical), read from the account's stream in the same decision. Errors: "queues" (queue.unknown,
// queue.medical_role_required), staff.not_found.
//
// Removing the medical role later leaves the queue in the list but gives no access: every case command and read
// checks the role again (mayWork, mayRead).
func (h *Staff) AssignStaffQueues(ctx context.Context, m Meta, staffID uuid.UUID, queues []string) (Result, error) {
	const op = "command.AssignStaffQueues"
	if r := m.Actor.Role; r != "" && r != event.RoleAdmin && r != event.RoleSystem {
		return Result{}, failure.Op(op, ErrQueueAssignmentForbidden)
	}
	normalized, err := normalizeQueues(queues)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	if staffID == uuid.Nil {
		return Result{}, failure.Op(op, staff.ErrNotFound)
	}
	stream := staff.StreamFor(staffID)
	cmd := h.command(m, stream)
	cmd.RetryOnConflict = staffRetries // the decision only depends on the account, its roles and its current queues
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		member := staff.Rehydrate(staffID, history)
		if !member.Exists() {
			return nil, staff.ErrNotFound
		}
		if !member.MedicalService() && slices.ContainsFunc(normalized, confidential) {
			return nil, failure.Field("queues", ErrQueueMedicalRoleRequired)
		}
		if slices.Equal(foldQueues(history), normalized) {
			return nil, nil
		}
		return []any{staff.QueuesAssigned{Queues: normalized}}, nil
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// StaffQueues returns the queues staff member staffID belongs to (sorted; empty when none was assigned), read from
// the account's stream. staff.ErrNotFound if there is no such account.
func (h *Staff) StaffQueues(ctx context.Context, staffID uuid.UUID) ([]string, error) {
	const op = "command.StaffQueues"
	s, err := h.loadStaffMember(ctx, staffID)
	if err != nil {
		return nil, failure.Op(op, err)
	}
	if !s.exists {
		return nil, failure.Op(op, staff.ErrNotFound)
	}
	if s.queues == nil {
		return []string{}, nil
	}
	return s.queues, nil
}

// QueueAccess is what a staff member may see of the queues, read from their account's stream at one instant (see
// Cases.QueueAccess).
type QueueAccess struct {
	member staffMember
}

// Queues returns the codes of the queues the staff member may see, in catalogue order: every queue for supervisors
// and auditors, the queues they belong to for anyone else, and a confidential queue only for members of the medical
// service.
func (a QueueAccess) Queues() []string {
	var out []string
	for _, q := range catalog.Current().Queues() {
		if a.member.mayRead(q.Code) == nil {
			out = append(out, q.Code)
		}
	}
	return out
}

// Check returns nil when the staff member may see queue and its cases: queue.not_found for a queue the current
// catalogue does not list, queue.medical_only (Forbidden) for a confidential queue outside the medical service,
// case.outside_queues (Forbidden) for a queue they do not belong to.
// A read of one case of a confidential queue should answer servicerequest.not_found instead (CaseCheck).
func (a QueueAccess) Check(queue string) error {
	if _, ok := catalog.Current().Queue(queue); !ok {
		return ErrQueueNotFound
	}
	return a.member.mayRead(queue)
}

// CaseCheck returns nil when the staff member may see a case of queue: servicerequest.not_found for a confidential
// queue outside the medical service (medical secrecy covers the case's existence), case.outside_queues otherwise.
func (a QueueAccess) CaseCheck(queue string) error {
	err := a.member.mayRead(queue)
	if errors.Is(err, ErrQueueMedicalOnly) {
		return servicerequest.ErrNotFound
	}
	return err
}

// QueueAccess reads staff member staffID's roles and queues from their account's stream (not a projection: a role
// or queue removed a moment ago is already gone) and returns what they may see. staff.ErrNotFound if there is no
// such account.
func (h *Cases) QueueAccess(ctx context.Context, staffID uuid.UUID) (QueueAccess, error) {
	const op = "command.QueueAccess"
	s, err := h.loadStaffMember(ctx, staffID)
	if err != nil {
		return QueueAccess{}, failure.Op(op, err)
	}
	if !s.exists {
		return QueueAccess{}, failure.Op(op, staff.ErrNotFound)
	}
	return QueueAccess{member: s}, nil
}
