package command

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
)

// The TOTP settings of the otpauth URL CreateStaff returns. They must match those adapters/credentials.TOTP
// validates with (RFC 6238 defaults: SHA-1, 6 digits, 30 s; a 160-bit secret); staff_test.go checks they do.
const (
	staffTOTPIssuer     = "Dossier MSA"
	staffTOTPSecretSize = 20
	staffTOTPDigits     = 6
	staffTOTPPeriod     = 30
	// staffTOTPPurpose separates the derivation of TOTP secrets from every other keyed digest.
	staffTOTPPurpose = "staff-totp"
)

// staffRetries is how many times a staff command is decided again after losing a race on its stream: a login, a
// logout or a roles change decided over a newer history (another login, say) stays right, since each decision is
// checked again from that history.
const staffRetries = 3

// CreateStaffInput is an administrator's request for a staff account.
type CreateStaffInput struct {
	Login, Name string
	Roles       []string
	Password    string
}

// CreateStaffResult is the new account. TOTPURL (otpauth://…, for a QR code) and TOTPSecret (base32, to type by hand)
// are for the administrator to hand over once: they are not stored, and no other command returns them (the secret is
// derived from the server key and computed again to check codes).
type CreateStaffResult struct {
	Result
	StaffID    uuid.UUID
	TOTPURL    string
	TOTPSecret string
}

// CreateStaff opens a staff account: the login is claimed on its stafflogin stream (one account per login), then
// the account's stream receives Created, PasswordSet and TOTPEnrolled. The password must pass staff.CheckPassword
// (the member policy with at least 14 characters). Errors, with the input field they are about: "login"
// (staff.login_invalid, staff.login_taken), "name" (staff.name_invalid), "roles" (staff.roles_empty,
// staff.role_unknown), "password" (staff.password_too_short and credential's password.*).
//
// A retry with the same Meta.CommandID returns the same account and secret. Should the process stop between the
// two appends, only that retry completes the account: a new command finds the login taken.
func (h *Staff) CreateStaff(ctx context.Context, m Meta, in CreateStaffInput) (CreateStaffResult, error) {
	const op = "command.CreateStaff"
	login, err := staff.CanonicalLogin(in.Login)
	if err != nil {
		return CreateStaffResult{}, failure.Op(op, failure.Field("login", err))
	}
	name, err := staff.NormalizeName(in.Name)
	if err != nil {
		return CreateStaffResult{}, failure.Op(op, failure.Field("name", err))
	}
	roles, err := staff.NormalizeRoles(in.Roles)
	if err != nil {
		return CreateStaffResult{}, failure.Op(op, failure.Field("roles", err))
	}
	if err := staff.CheckPassword(credential.EstimatorOf(h.hasher), in.Password, login, name); err != nil {
		return CreateStaffResult{}, failure.Op(op, failure.Field("password", err))
	}
	if m.CommandID == uuid.Nil {
		m.CommandID = h.newID() // one id for both streams, so a retry of this call is recognised on each
	}
	claimStream := staff.LoginStreamFor(h.keys, login)
	claimCmd := h.command(m, claimStream)
	claimCmd.RetryOnConflict = 1 // a lost race is decided again, and then answers staff.login_taken

	// Refuse a taken login before the slow hash; recognise a retry of this very command.
	claim, err := h.store.Load(ctx, claimStream)
	if err != nil {
		return CreateStaffResult{}, failure.Op(op, err)
	}
	staffID := uuid.Nil
	if owner, ok := staff.ClaimedBy(claim); ok {
		if claim[0].Metadata.CommandID != claimCmd.Metadata.CommandID {
			return CreateStaffResult{}, failure.Op(op, failure.Field("login", staff.ErrLoginTaken))
		}
		staffID = owner
	}
	if staffID == uuid.Nil {
		staffID = h.newID()
	}
	hash, err := h.hasher.Hash(ctx, in.Password)
	if err != nil {
		return CreateStaffResult{}, failure.Opf(op, "hash password: %w", err)
	}
	if _, err := h.store.Update(ctx, claimStream, claimCmd, func(history []event.Envelope) ([]any, error) {
		return staff.ClaimLogin(history, staffID)
	}); err != nil {
		if errors.Is(err, staff.ErrLoginTaken) {
			err = failure.Field("login", err)
		}
		return CreateStaffResult{}, failure.Op(op, err)
	}
	stream := staff.StreamFor(staffID)
	commit, err := h.store.Update(ctx, stream, h.command(m, stream), func(history []event.Envelope) ([]any, error) {
		s := staff.Rehydrate(staffID, history)
		if err := s.Create(staff.Account{Login: login, Name: name, Roles: roles, PasswordHash: hash}); err != nil {
			return nil, err
		}
		return s.Pending(), nil
	})
	if err != nil {
		return CreateStaffResult{}, failure.Op(op, err)
	}
	if slices.Contains(roles, staff.RoleAdmin) {
		// The registry counts the new administrator once the account holds the role (never before it does).
		if err := h.confirmAdmin(ctx, m, staffID, commit.Revision); err != nil {
			return CreateStaffResult{}, failure.Op(op, err)
		}
	}
	secret := StaffTOTPSecret(h.keys, staffID, 1)
	return CreateStaffResult{
		Result:     Result{Position: commit.Position},
		StaffID:    staffID,
		TOTPURL:    staffTOTPURL(login, secret),
		TOTPSecret: secret,
	}, nil
}

// StaffLoginResult is a successful staff login: who, with which roles (the session keeps them; see StaffRoles).
type StaffLoginResult struct {
	Result
	StaffID uuid.UUID
	Roles   []string
	Name    string
}

// StaffLogin checks a staff member's login, password and TOTP code and, if all are right, records LoggedIn with
// sessionID (the id of the server-side session the caller opens on success). The first valid code of an enrolment
// also records TOTPConfirmed; a stored hash made with other argon2id parameters than the current ones is replaced
// (PasswordRehashed); an administrator is confirmed on the administrators' registry.
//
// Every failure answers staff.ErrInvalidCredentials (auth.invalid_credentials, Unauthenticated), whatever failed:
// an unknown login (after a dummy password verification, so it takes as long), a wrong password, a wrong or
// replayed code. Failures of a known account are recorded (LoginFailed, with the reason), and the fifth in a row
// locks it (Locked: 15 minutes, doubling to 24 hours); while locked, StaffLogin answers staff.ErrInvalidCredentials
// too, after a dummy verification, without checking or recording anything: a lock never tells a login exists.
//
// Each call is its own fact: its command id derives from sessionID, so pass a fresh session id per attempt.
func (h *Staff) StaffLogin(ctx context.Context, m Meta, login, password, totpCode string, sessionID uuid.UUID) (StaffLoginResult, error) {
	const op = "command.StaffLogin"
	if h.totp == nil {
		return StaffLoginResult{}, failure.Opf(op, "no TOTP validator configured")
	}
	if sessionID == uuid.Nil {
		return StaffLoginResult{}, failure.Opf(op, "no session id")
	}
	s, err := h.staffByLogin(ctx, login)
	if err != nil {
		return StaffLoginResult{}, failure.Op(op, err)
	}
	if s == nil {
		if err := h.hasher.VerifyDummy(ctx, password); err != nil {
			return StaffLoginResult{}, failure.Op(op, err)
		}
		return StaffLoginResult{}, failure.Op(op, staff.ErrInvalidCredentials)
	}
	id := s.ID()
	now := h.clock().UTC()
	if _, locked := s.LockedUntil(now); locked {
		// Exactly the answer of an unknown login or a wrong password (the time of a password verification, then
		// auth.invalid_credentials, no end of lock), nothing checked nor recorded: a different answer would tell a
		// guesser that the login exists and that it was being guessed (OWASP). The lock itself is in the account's
		// events (Locked) and its log; staff accounts have no email address to be told at.
		if err := h.hasher.VerifyDummy(ctx, password); err != nil {
			return StaffLoginResult{}, failure.Op(op, err)
		}
		return StaffLoginResult{}, failure.Op(op, staff.ErrInvalidCredentials)
	}
	verified := s.PasswordHash()
	passwordOK, err := h.hasher.Verify(ctx, password, verified)
	if err != nil {
		return StaffLoginResult{}, failure.Opf(op, "verify password: %w", err)
	}
	rehash := ""
	if passwordOK {
		if rehash, err = rehashFor(ctx, h.hasher, password, verified); err != nil {
			return StaffLoginResult{}, failure.Op(op, err)
		}
	}
	check := func(sequence int, lastStep int64) (int64, error) {
		secret := StaffTOTPSecret(h.keys, id, sequence)
		step, err := h.totp.Validate(secret, totpCode, now, lastStep)
		switch {
		case err == nil:
			return step, nil
		case failure.KindOf(err) != failure.Unauthenticated:
			return 0, err
		}
		// Refused: a code that is right at now once the last step is forgotten was used already.
		if _, again := h.totp.Validate(secret, totpCode, now, 0); again == nil {
			return 0, staff.ErrTOTPReplayed
		}
		return 0, staff.ErrTOTPInvalid
	}

	stream := staff.StreamFor(id)
	// The attempt is made in this account's name, whoever the HTTP layer saw (nobody is logged in yet).
	m.Actor = event.Actor{ID: id.String(), Role: staffActorRole(s.Roles())}
	cmd := h.command(m, stream)
	cmd.Metadata.CommandID = uuid.NewSHA1(cmd.Metadata.CommandID, []byte("login "+sessionID.String()))
	cmd.RetryOnConflict = staffRetries
	var (
		after   *staff.Staff
		refusal error
	)
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		after = staff.Rehydrate(id, history)
		refusal = after.Authenticate(staff.Attempt{At: now, SessionID: sessionID, PasswordOK: passwordOK, CheckTOTP: check})
		if refusal == nil {
			after.RehashPassword(verified, rehash)
		}
		events := after.Pending()
		if refusal != nil && len(events) == 0 {
			return nil, refusal
		}
		return events, nil
	})
	switch {
	case err == nil && after == nil:
		// The store found this command's events already there: a second call with the same session id.
		return StaffLoginResult{}, failure.Opf(op, "session %s was already used for a login attempt", sessionID)
	case err == nil && refusal != nil:
		err = refusal
	}
	if err != nil {
		if isLoginFailure(err) {
			err = staff.ErrInvalidCredentials
		}
		return StaffLoginResult{}, failure.Op(op, err)
	}
	if after.IsAdmin() {
		// An administrator from before the registry is counted from their first login on (see staff.Admins).
		if err := h.confirmAdmin(ctx, m, id, commit.Revision); err != nil {
			return StaffLoginResult{}, failure.Op(op, err)
		}
	}
	return StaffLoginResult{Result: Result{Position: commit.Position}, StaffID: id, Roles: after.Roles(), Name: after.Name()}, nil
}

// isLoginFailure reports whether err is one of the reasons a login failed that callers must not tell apart.
func isLoginFailure(err error) bool {
	for _, reason := range []error{staff.ErrWrongPassword, staff.ErrTOTPInvalid, staff.ErrTOTPReplayed, staff.ErrNotEnrolled, staff.ErrNotFound,
		staff.ErrLocked} { // locked meanwhile: answered like any failed login
		if errors.Is(err, reason) {
			return true
		}
	}
	return false
}

// staffByLogin returns the account a login names, or nil when the login is malformed, unclaimed, or claimed by an
// account whose stream is missing (an interrupted CreateStaff).
func (h *Staff) staffByLogin(ctx context.Context, login string) (*staff.Staff, error) {
	canonical, err := staff.CanonicalLogin(login)
	if err != nil {
		return nil, nil
	}
	claim, err := h.store.Load(ctx, staff.LoginStreamFor(h.keys, canonical))
	if err != nil {
		return nil, err
	}
	id, ok := staff.ClaimedBy(claim)
	if !ok {
		return nil, nil
	}
	history, err := h.store.Load(ctx, staff.StreamFor(id))
	if err != nil {
		return nil, err
	}
	s := staff.Rehydrate(id, history)
	if !s.Exists() {
		return nil, nil
	}
	return s, nil
}

// staffActorRole is the role a staff member's own events name: the most privileged of their roles, as the HTTP
// layer does for the requests of a staff session.
func staffActorRole(roles []string) event.Role {
	for _, r := range []event.Role{event.RoleAdmin, event.RoleSupervisor, event.RoleAuditor, event.RoleCaseworker} {
		if slices.Contains(roles, string(r)) {
			return r
		}
	}
	return event.RoleCaseworker
}

// StaffLogout records the end of session sessionID of staff member staffID (nothing if it already ended).
// Errors: staff.not_found (NotFound), staff.session_unknown (NotFound: a session this staff member never opened).
func (h *Staff) StaffLogout(ctx context.Context, m Meta, staffID, sessionID uuid.UUID) (Result, error) {
	const op = "command.StaffLogout"
	res, err := h.onStaff(ctx, m, staffID, func(s *staff.Staff) error { return s.LogOut(sessionID) })
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return res, nil
}

// ChangeStaffRoles replaces the roles of staff member staffID; nothing is recorded when they do not change. Only an
// administrator may call it (the HTTP layer checks the caller's role). Errors: "roles" (staff.roles_empty,
// staff.role_unknown), staff.not_found, staff.last_admin (Rule) when it would take the role from the last
// administrator.
//
// "At least one administrator" is kept through the administrators' registry (staff.Admins), since the staff stream
// cannot be appended together with another stream:
//
//  1. the target's stream is read at revision r;
//  2. a removal of RoleAdmin is approved on the registry (AdminRemovalApproved at r), appended with the registry's
//     expected revision, and refused when no other administrator would be counted; the caller, when an
//     administrator, is confirmed in the same append (read from their own stream);
//  3. the roles change is appended on the target's stream with expected revision r, never re-decided: if the stream
//     moved (a login, another change), everything starts again from 1, so an approval always stands for the very
//     revision the change lands after;
//  4. a target who holds RoleAdmin afterwards is confirmed on the registry.
//
// Two administrators demoting each other at once both reach step 2; the registry's optimistic append orders them,
// and the second is decided over the first's approval: refused if nobody else is counted. The registry may count
// too few administrators (an approval whose change failed, one not confirmed yet), never too many.
func (h *Staff) ChangeStaffRoles(ctx context.Context, m Meta, staffID uuid.UUID, roles []string) (Result, error) {
	const op = "command.ChangeStaffRoles"
	normalized, err := staff.NormalizeRoles(roles)
	if err != nil {
		return Result{}, failure.Op(op, failure.Field("roles", err))
	}
	if staffID == uuid.Nil {
		return Result{}, failure.Op(op, staff.ErrNotFound)
	}
	m = h.withCommandID(m)
	stream := staff.StreamFor(staffID)
	keepsAdmin := slices.Contains(normalized, staff.RoleAdmin)
	for attempt := 0; ; attempt++ {
		history, err := h.store.Load(ctx, stream)
		if err != nil {
			return Result{}, failure.Op(op, err)
		}
		current := staff.Rehydrate(staffID, history)
		if !current.Exists() {
			return Result{}, failure.Op(op, staff.ErrNotFound)
		}
		revision := history[len(history)-1].Revision
		if current.IsAdmin() && !keepsAdmin {
			if err := h.approveAdminRemoval(ctx, m, staffID, revision); err != nil {
				return Result{}, failure.Op(op, err)
			}
		}
		cmd := h.command(m, stream)
		cmd.ExpectedRevision = &revision
		commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
			s := staff.Rehydrate(staffID, history)
			if err := s.ChangeRoles(normalized); err != nil {
				return nil, err
			}
			return s.Pending(), nil
		})
		if failure.KindOf(err) == failure.Conflict && attempt < staffRetries {
			continue // the stream moved since r: read it again, and approve again at its new revision
		}
		if err != nil {
			return Result{}, failure.Op(op, err)
		}
		if keepsAdmin {
			if err := h.confirmAdmin(ctx, m, staffID, commit.Revision); err != nil {
				return Result{}, failure.Op(op, err)
			}
		}
		return Result{Position: commit.Position}, nil
	}
}

// adminRegistryRetries is how many times a registry decision is taken again over a newer registry: each is a
// decision over the registry alone (plus reads made before it, which stay right, see staff.Admins), so re-deciding
// is safe.
const adminRegistryRetries = 10

// approveAdminRemoval approves, on the administrators' registry, taking RoleAdmin from staffID as decided on
// revision of their stream (staff.ErrLastAdmin when no other administrator would be counted). The caller of m,
// when a staff member holding RoleAdmin, is confirmed in the same append: they are an administrator who remains.
// The command id derives from the revision, so that an attempt started again after a lost race on the staff stream
// is a new decision, and a retry of the same attempt appends nothing twice.
func (h *Staff) approveAdminRemoval(ctx context.Context, m Meta, staffID uuid.UUID, revision uint64) error {
	actor, actorRevision, actorIsAdmin, err := h.adminActor(ctx, m)
	if err != nil {
		return err
	}
	stream := staff.AdminRegistryStream()
	cmd := h.command(m, stream)
	cmd.Metadata.CommandID = uuid.NewSHA1(cmd.Metadata.CommandID, fmt.Appendf(nil, "remove admin %s@%d", staffID, revision))
	cmd.RetryOnConflict = adminRegistryRetries
	_, err = h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		a := staff.RehydrateAdmins(history)
		if actorIsAdmin && actor != staffID {
			a.Confirm(actor, actorRevision)
		}
		if err := a.ApproveRemoval(staffID, revision); err != nil {
			return nil, err
		}
		return a.Pending(), nil
	})
	return err
}

// confirmAdmin records on the administrators' registry that staffID held RoleAdmin at revision of their stream
// (nothing when the registry counts them already).
func (h *Staff) confirmAdmin(ctx context.Context, m Meta, staffID uuid.UUID, revision uint64) error {
	stream := staff.AdminRegistryStream()
	cmd := h.command(m, stream)
	cmd.Metadata.CommandID = uuid.NewSHA1(cmd.Metadata.CommandID, fmt.Appendf(nil, "confirm admin %s@%d", staffID, revision))
	cmd.RetryOnConflict = adminRegistryRetries
	_, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		a := staff.RehydrateAdmins(history)
		a.Confirm(staffID, revision)
		return a.Pending(), nil
	})
	return err
}

// adminActor returns the staff id of m's actor and the revision of their stream at which they hold RoleAdmin, read
// from that stream (the event role is not enough: an administrator who is also a caseworker acts as a caseworker).
// ok is false for an actor who is not a staff member holding the role (an operator command, a member).
func (h *Staff) adminActor(ctx context.Context, m Meta) (id uuid.UUID, revision uint64, ok bool, err error) {
	id, perr := uuid.Parse(m.Actor.ID)
	if perr != nil || id == uuid.Nil {
		return uuid.Nil, 0, false, nil
	}
	history, err := h.store.Load(ctx, staff.StreamFor(id))
	if err != nil || len(history) == 0 {
		return uuid.Nil, 0, false, err
	}
	if !staff.Rehydrate(id, history).IsAdmin() {
		return uuid.Nil, 0, false, nil
	}
	return id, history[len(history)-1].Revision, true, nil
}

// StaffAdmins returns the administrators the registry counts (see staff.Admins), sorted.
func (h *Staff) StaffAdmins(ctx context.Context) ([]uuid.UUID, error) {
	history, err := h.store.Load(ctx, staff.AdminRegistryStream())
	if err != nil {
		return nil, failure.Op("command.StaffAdmins", err)
	}
	return staff.RehydrateAdmins(history).List(), nil
}

// ResetStaffTOTPResult is a new second-factor enrolment: the secret and its otpauth URL are for the administrator to
// hand over once (they are not stored; a second call with the same Meta.CommandID returns them again).
type ResetStaffTOTPResult struct {
	Result
	StaffID    uuid.UUID
	Login      string
	TOTPURL    string
	TOTPSecret string
}

// ResetStaffTOTP resets the second factor of staff member staffID (a lost or replaced phone), by an administrator
// (the actor of m; the HTTP layer checks the role, the operator command acts as itself): StaffTOTPReset, then
// StaffTOTPEnrolled of the next sequence. The old secret stops working at once, every session of the staff member
// ends (StaffSession refuses them from then on; the caller also revokes them in the session table), the login lock
// ends, and the staff member confirms the new secret with its first code at the next login, as on the first.
// Errors: staff.not_found.
func (h *Staff) ResetStaffTOTP(ctx context.Context, m Meta, staffID uuid.UUID) (ResetStaffTOTPResult, error) {
	const op = "command.ResetStaffTOTP"
	if staffID == uuid.Nil {
		return ResetStaffTOTPResult{}, failure.Op(op, staff.ErrNotFound)
	}
	m = h.withCommandID(m)
	res, err := h.onStaff(ctx, m, staffID, func(s *staff.Staff) error { return s.ResetTOTP() })
	if err != nil {
		return ResetStaffTOTPResult{}, failure.Op(op, err)
	}
	// The sequence this command enrolled, read back (also for a retry, whose decision did not run again).
	stream := staff.StreamFor(staffID)
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return ResetStaffTOTPResult{}, failure.Op(op, err)
	}
	sequence := 0
	for _, e := range recordedBy(history, h.command(m, stream).Metadata.CommandID) {
		if enrolled, ok := e.(staff.TOTPEnrolled); ok {
			sequence = enrolled.Sequence
		}
	}
	if sequence == 0 {
		return ResetStaffTOTPResult{}, failure.Opf(op, "no enrolment recorded by this command")
	}
	login := staff.Rehydrate(staffID, history).Login()
	secret := StaffTOTPSecret(h.keys, staffID, sequence)
	return ResetStaffTOTPResult{Result: res, StaffID: staffID, Login: login, TOTPURL: staffTOTPURL(login, secret), TOTPSecret: secret}, nil
}

// StaffIDForLogin returns the staff id a login names (staff.ErrNotFound if none), for operator commands.
func (h *Staff) StaffIDForLogin(ctx context.Context, login string) (uuid.UUID, error) {
	s, err := h.staffByLogin(ctx, login)
	if err != nil {
		return uuid.Nil, failure.Op("command.StaffIDForLogin", err)
	}
	if s == nil {
		return uuid.Nil, failure.Op("command.StaffIDForLogin", staff.ErrNotFound)
	}
	return s.ID(), nil
}

// onStaff runs one decision on the stream of staff member staffID (staff.ErrNotFound for uuid.Nil), decided again
// over a newer history after a lost race.
func (h *Staff) onStaff(ctx context.Context, m Meta, staffID uuid.UUID, decide func(*staff.Staff) error) (Result, error) {
	if staffID == uuid.Nil {
		return Result{}, staff.ErrNotFound
	}
	stream := staff.StreamFor(staffID)
	cmd := h.command(m, stream)
	cmd.RetryOnConflict = staffRetries
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		s := staff.Rehydrate(staffID, history)
		if err := decide(s); err != nil {
			return nil, err
		}
		return s.Pending(), nil
	})
	if err != nil {
		return Result{}, err
	}
	return Result{Position: commit.Position}, nil
}

// RecordMemberDataOpened records that staff member staffID, acting as role, opened view what ("member.profile",
// "member.directory") of member memberID's data: MemberDataOpened on memberaccess-<member id>. subject names which
// item of the view, as the member knows it (a request's reference for "case.file"), or is empty. Call it on every
// staff read of a member's data, before answering. Errors: staff.access_invalid, staff.role_unknown (Invalid).
//
// The log only grows and its record never depends on it, so the command is blind (event.Command.Blind): it appends
// without reading the member's log, whose length then costs nothing, and concurrent openings of one member never
// conflict. A retry (the same Meta.CommandID for the same opening) is recognised by the event store from the event
// id; where it cannot be any more (KurrentDB's window, see kurrentdb.Store.Update), the opening is recorded twice,
// never lost. The command id derives from Meta.CommandID, the member, who (staff member and role), what and
// subject: one request that records several views of the same member gets one event per view and subject, and an
// Idempotency-Key used again by another staff member, in another role or for another view is another opening, never
// taken for a retry of the first.
func (h *Staff) RecordMemberDataOpened(ctx context.Context, m Meta, staffID uuid.UUID, role string, memberID uuid.UUID, what, subject string) (Result, error) {
	const op = "command.RecordMemberDataOpened"
	opened, err := staff.NewAccess(staffID, role, what, subject)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	if memberID == uuid.Nil {
		return Result{}, failure.Op(op, staff.ErrAccessInvalid)
	}
	stream := staff.AccessStreamFor(memberID)
	if m.Actor.ID == "" {
		m.Actor = event.Actor{ID: staffID.String(), Role: event.Role(role)}
	}
	cmd := h.command(m, stream)
	cmd.Metadata.CommandID = uuid.NewSHA1(cmd.Metadata.CommandID, fmt.Appendf(nil, "opened %s %s by %s as %s", opened.What, opened.Subject, opened.StaffID, opened.Role))
	cmd.Blind = true
	commit, err := h.store.Update(ctx, stream, cmd, func([]event.Envelope) ([]any, error) {
		return []any{opened}, nil
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// RecordMemberDirectorySearched records that staff member staffID, acting as role, searched the member directory
// with a query of kind ("nir" or "name", staff.SearchKindNIR/SearchKindName; never the query) and was shown the
// members memberIDs: MemberDirectorySearched on staffsearch-<staff id>. Call it on every search, before answering.
// Errors: staff.access_invalid, staff.role_unknown (Invalid).
//
// Blind like RecordMemberDataOpened: appended without reading the staff member's search log. The command id derives
// from Meta.CommandID, the role, the kind and the members shown, so that a reused Idempotency-Key never hides a
// search that showed other members.
func (h *Staff) RecordMemberDirectorySearched(ctx context.Context, m Meta, staffID uuid.UUID, role, kind string, memberIDs []uuid.UUID) (Result, error) {
	const op = "command.RecordMemberDirectorySearched"
	searched, err := staff.NewDirectorySearch(staffID, role, kind, memberIDs)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	stream := staff.SearchStreamFor(staffID)
	if m.Actor.ID == "" {
		m.Actor = event.Actor{ID: staffID.String(), Role: event.Role(role)}
	}
	cmd := h.command(m, stream)
	shown := fmt.Appendf(nil, "searched %s as %s:", searched.Kind, searched.Role)
	for _, id := range searched.MemberIDs {
		shown = append(shown, id[:]...)
	}
	cmd.Metadata.CommandID = uuid.NewSHA1(cmd.Metadata.CommandID, shown)
	cmd.Blind = true
	commit, err := h.store.Update(ctx, stream, cmd, func([]event.Envelope) ([]any, error) {
		return []any{searched}, nil
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// StaffRoles returns the current roles of staff member staffID, read from the account's stream (not a projection:
// a role removed a moment ago is already gone). staff.ErrNotFound if there is no such account.
func (h *Staff) StaffRoles(ctx context.Context, staffID uuid.UUID) ([]string, error) {
	s, err := h.existingStaff(ctx, staffID)
	if err != nil {
		return nil, failure.Op("command.StaffRoles", err)
	}
	return s.Roles(), nil
}

// StaffSession returns the current roles of staff member staffID for a request made in session sessionID, read from
// the account's stream like StaffRoles, once the stream shows the session open: opened by a recorded login, and not
// ended since by a logout or a reset of the second factor (staff.ErrSessionEnded otherwise, Unauthenticated). So a
// reset ends the sessions with its event alone, whatever happens to the session table. staff.ErrNotFound if there
// is no such account.
func (h *Staff) StaffSession(ctx context.Context, staffID, sessionID uuid.UUID) ([]string, error) {
	const op = "command.StaffSession"
	s, err := h.existingStaff(ctx, staffID)
	if err != nil {
		return nil, failure.Op(op, err)
	}
	if !s.SessionOpen(sessionID) {
		return nil, failure.Op(op, staff.ErrSessionEnded)
	}
	return s.Roles(), nil
}

// existingStaff rehydrates the account of staff member staffID: staff.ErrNotFound when there is none.
func (h *Staff) existingStaff(ctx context.Context, staffID uuid.UUID) (*staff.Staff, error) {
	if staffID == uuid.Nil {
		return nil, staff.ErrNotFound
	}
	history, err := h.loadStaffHistory(ctx, staffID, true)
	if err != nil {
		return nil, err
	}
	s := staff.Rehydrate(staffID, history)
	if !s.Exists() {
		return nil, staff.ErrNotFound
	}
	return s, nil
}

// StaffTOTPSecret returns the TOTP secret of enrolment sequence of staff member staffID, in unpadded base32: the
// first 160 bits of the server key's digest of (staff-totp, staff id, sequence). It is never stored: events keep
// only the sequence, and the secret is computed again to check a code. A new enrolment (sequence + 1) gives a new
// secret; a new server key changes every secret, so every staff member must enrol again.
func StaffTOTPSecret(k Keys, staffID uuid.UUID, sequence int) string {
	d := k.Digest(staffTOTPPurpose, staffID.String(), strconv.Itoa(sequence))
	if len(d) > staffTOTPSecretSize {
		d = d[:staffTOTPSecretSize]
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(d)
}

// staffTOTPURL returns the otpauth:// key URI of a secret for login, in the form authenticator applications read
// (that of github.com/pquerna/otp, spaces as %20). Nothing needs escaping but the issuer's space: a canonical login
// is lower-case letters, digits, '.' and '-', a base32 secret upper-case letters and digits (the domain may not
// import net/url).
func staffTOTPURL(login, secret string) string {
	issuer := strings.ReplaceAll(staffTOTPIssuer, " ", "%20")
	return "otpauth://totp/" + issuer + ":" + login + "?algorithm=SHA1&digits=" + strconv.Itoa(staffTOTPDigits) +
		"&issuer=" + issuer + "&period=" + strconv.Itoa(staffTOTPPeriod) + "&secret=" + secret
}
