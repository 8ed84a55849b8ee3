package staff

import (
	"slices"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// AdminRegistryID is the id of the one administrators' registry stream, staffadmins-<AdminRegistryID>. It never
// changes: every replica and every operator command must name the same stream.
var AdminRegistryID = uuid.MustParse("a6d1f0c4-3b2e-5c8d-9e7f-0a1b2c3d4e5f")

// AdminRegistryStream returns the administrators' registry stream.
func AdminRegistryStream() event.StreamID { return event.NewStreamID(AdminsCategory, AdminRegistryID) }

// ErrLastAdmin refuses a change that would leave no administrator: nobody could then manage staff accounts (roles,
// queues, second factors) without an operator at the server.
var ErrLastAdmin = failure.New(failure.Rule, "staff.last_admin", "change would remove the last administrator")

// AdminConfirmed says that staff member StaffID held RoleAdmin at revision Revision of their staff stream: it was read
// there before this event was appended (after a creation, a promotion, a login, or of the administrator acting).
type AdminConfirmed struct {
	StaffID  uuid.UUID `json:"staff_id" personal:"no"`
	Revision uint64    `json:"revision" personal:"no"`
}

// AdminRemovalApproved records the approval of a roles change that takes RoleAdmin from StaffID, decided on revision
// Revision of their staff stream: the change is appended there next, at Revision+1, and only there (an append with
// that expected revision). Remaining lists the administrators the registry still counted, at least one.
type AdminRemovalApproved struct {
	StaffID   uuid.UUID   `json:"staff_id" personal:"no"`
	Revision  uint64      `json:"revision" personal:"no"`
	Remaining []uuid.UUID `json:"remaining" personal:"no"`
}

// Admins is the administrators' registry: which staff members certainly hold RoleAdmin. A staff stream cannot be
// changed together with another stream, so the registry is the one place where removals of the role are decided in
// turn: each is approved here (AdminRemovalApproved, appended with the registry's expected revision) before the staff
// stream changes, so that two administrators demoting each other at once cannot both be approved against the same
// count, and the second is decided again over the first's approval.
//
// The registry may count fewer administrators than there are, never more:
//
//   - an approval is recorded before the role is taken away (a crash in between leaves an approved removal that did
//     not happen: one administrator too few, until they log in again);
//   - a confirmation is recorded after the role was read on the staff stream, at a revision: each staff member's
//     standing is that of the entry of the highest staff-stream revision (an approval stands for Revision+1, where
//     the change lands; a confirmation wins a tie, being a read of what is there), so a confirmation read before an
//     approved removal never outranks it, whatever order the two reach the registry in;
//   - administrators from before the registry (or whose role was restored by an approval that failed) are counted
//     once they are confirmed: at their next login, when they change roles, or when they take part in a change.
//
// A refusal may therefore be too cautious (an administrator not counted yet), never wrong the other way: a counted
// administrator can only lose the role through a later approval here, which the optimistic append puts in order.
type Admins struct {
	standing map[uuid.UUID]adminStanding
	pending  []any
}

type adminStanding struct {
	revision uint64 // the staff-stream revision the standing holds from
	admin    bool
}

// RehydrateAdmins folds the registry stream's history.
func RehydrateAdmins(history []event.Envelope) *Admins {
	a := &Admins{standing: map[uuid.UUID]adminStanding{}}
	for _, env := range history {
		a.apply(env.Event)
	}
	return a
}

func (a *Admins) apply(e any) {
	switch e := e.(type) {
	case AdminConfirmed:
		if cur, ok := a.standing[e.StaffID]; !ok || e.Revision >= cur.revision {
			a.standing[e.StaffID] = adminStanding{revision: e.Revision, admin: true}
		}
	case AdminRemovalApproved:
		at := e.Revision + 1
		if cur, ok := a.standing[e.StaffID]; !ok || at > cur.revision {
			a.standing[e.StaffID] = adminStanding{revision: at, admin: false}
		}
	}
}

func (a *Admins) record(e any) {
	a.apply(e)
	a.pending = append(a.pending, e)
}

// Pending returns the events recorded since RehydrateAdmins.
func (a *Admins) Pending() []any { return slices.Clone(a.pending) }

// IsAdmin reports whether the registry counts staffID as an administrator.
func (a *Admins) IsAdmin(staffID uuid.UUID) bool { return a.standing[staffID].admin }

// List returns the administrators the registry counts, sorted.
func (a *Admins) List() []uuid.UUID {
	var out []uuid.UUID
	for id, s := range a.standing {
		if s.admin {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	return out
}

// Confirm records that staffID held RoleAdmin at revision of their staff stream (read there by the caller), unless
// the registry knows as much or more already (it counts them, or an approved removal outranks that revision).
func (a *Admins) Confirm(staffID uuid.UUID, revision uint64) {
	if staffID == uuid.Nil {
		return
	}
	if cur, ok := a.standing[staffID]; ok && (cur.admin || cur.revision > revision) {
		return
	}
	a.record(AdminConfirmed{StaffID: staffID, Revision: revision})
}

// ApproveRemoval approves taking RoleAdmin from staffID, decided on revision of their staff stream: ErrLastAdmin when
// the registry would count no other administrator, else AdminRemovalApproved with the administrators remaining.
func (a *Admins) ApproveRemoval(staffID uuid.UUID, revision uint64) error {
	remaining := slices.DeleteFunc(a.List(), func(id uuid.UUID) bool { return id == staffID })
	if len(remaining) == 0 {
		return ErrLastAdmin
	}
	a.record(AdminRemovalApproved{StaffID: staffID, Revision: revision, Remaining: remaining})
	return nil
}
