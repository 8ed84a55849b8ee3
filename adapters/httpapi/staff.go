package httpapi

import (
	"net/http"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections/memberdirectory"
)

// Staff: login with password and TOTP; every staff route checks the caller's roles (read at each request).

// staffRoles are the roles allowed to open members' data: every staff role (auditors read, never write).
var staffRoles = []string{"caseworker", "supervisor", "auditor", "admin"}

type staffLoginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
	TOTP     string `json:"totp"`
}

func (s *Server) staffLogin(w http.ResponseWriter, r *http.Request) {
	var in staffLoginRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		return s.openSession(w, r, kindStaff, func(sessionID uuid.UUID) (loggedIn, error) {
			res, err := s.deps.StaffCommands.StaffLogin(r.Context(), m, in.Login, in.Password, in.TOTP, sessionID)
			return loggedIn{subject: res.StaffID, position: res.Position, roles: res.Roles}, err
		})
	})
}

type directoryBody struct {
	Members []directoryResult `json:"members"`
}

// directoryResult is one member of a directory search: what a result list needs to tell homonyms apart, no more.
// The NIR and the contact details are in the member's account (openMember), whose every opening is recorded.
type directoryResult struct {
	MemberID  uuid.UUID              `json:"member_id"`
	LastName  string                 `json:"last_name"`
	FirstName string                 `json:"first_name"`
	BirthDate string                 `json:"birth_date"` // YYYY-MM-DD
	Status    memberdirectory.Status `json:"status"`
}

// searchMembers searches the member directory. Every search is recorded before anything is answered (who, when,
// the kind of query, which members it returned; never the query): no record, no results. Opening one of the
// members (openMember) is recorded in that member's access log.
func (s *Server) searchMembers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	entries, err := s.deps.Directory.Search(r.Context(), q, memberdirectory.DefaultLimit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := meta(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	kind := staff.SearchKindName
	if strings.ContainsFunc(q, unicode.IsDigit) { // the directory reads a query with a digit as a NIR
		kind = staff.SearchKindNIR
	}
	ids := make([]uuid.UUID, len(entries))
	results := make([]directoryResult, len(entries))
	for i, e := range entries {
		ids[i] = e.MemberID
		results[i] = directoryResult{MemberID: e.MemberID, LastName: e.LastName, FirstName: e.FirstName,
			BirthDate: e.BirthDate, Status: e.Status}
	}
	p := principalOf(r.Context())
	if _, err := s.deps.StaffCommands.RecordMemberDirectorySearched(r.Context(), m, p.ID, string(staffActorRole(p.Roles)), kind, ids); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, directoryBody{Members: results})
}

// openMember returns a member's account to a staff member and records the opening (who, what, when) in the
// member's access log first: no record, no data.
func (s *Server) openMember(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	acc, err := s.deps.Accounts.Get(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := meta(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := principalOf(r.Context())
	if _, err := s.deps.StaffCommands.RecordMemberDataOpened(r.Context(), m, p.ID, string(staffActorRole(p.Roles)), id, "member.account", ""); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, accountBodyOf(acc))
}

type rolesRequest struct {
	Roles []string `json:"roles"` // caseworker, supervisor, auditor, admin; medical (the medical service) with one of them
}

// changeStaffRoles replaces a staff member's roles (admins only); the change applies to the next request of
// every session of that staff member.
func (s *Server) changeStaffRoles(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in rolesRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.StaffCommands.ChangeStaffRoles(r.Context(), m, id, in.Roles)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

type queuesRequest struct {
	Queues []string `json:"queues"` // catalog queue codes; empty removes every queue
}

// assignStaffQueues sets the queues a caseworker works (admins only); a confidential queue only for a member of the
// medical service (422 queue.medical_role_required otherwise).
func (s *Server) assignStaffQueues(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in queuesRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.StaffCommands.AssignStaffQueues(r.Context(), m, id, in.Queues)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

// totpResetBody is a new second-factor enrolment, shown once to the administrator who hands it over.
type totpResetBody struct {
	StaffID    uuid.UUID `json:"staff_id"`
	Login      string    `json:"login"`
	TOTPSecret string    `json:"totp_secret"` // base32, to type into an authenticator application
	TOTPURL    string    `json:"totp_url"`    // otpauth:// key URI, to show as a QR code
	Message    string    `json:"message"`
	Position   string    `json:"position"`
}

const totpResetMessage = "Le second facteur de cet agent est réinitialisé : l'ancien code ne fonctionne plus et ses sessions sont fermées. " +
	"Remettez-lui ce nouveau secret en personne ; il l'enregistre dans son application d'authentification et le confirme par un premier code à sa prochaine connexion. " +
	"Ce secret ne sera plus affiché."

// resetStaffTOTP resets a staff member's second factor (admins only): the old secret stops working, every session of
// that staff member ends (the event ends them for the staff stream; the session table is revoked too), and the new
// secret is answered once, never cached. The same Idempotency-Key returns the same secret.
func (s *Server) resetStaffTOTP(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.runCommand(w, r, nil, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.StaffCommands.ResetStaffTOTP(r.Context(), m, id)
		if err != nil {
			return 0, 0, nil, err
		}
		if _, err := s.deps.Sessions.RevokeAllFor(r.Context(), id, uuid.Nil); err != nil {
			return 0, 0, nil, err
		}
		return http.StatusOK, res.Position, totpResetBody{StaffID: res.StaffID, Login: res.Login, TOTPSecret: res.TOTPSecret,
			TOTPURL: res.TOTPURL, Message: totpResetMessage, Position: formatPosition(res.Position)}, nil
	})
}
