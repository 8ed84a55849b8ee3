package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/projections/accounts"
)

// The member space: registration, activation, sessions, the account and its changes, forgotten password.
// Member data is only ever the caller's own: every /v1/me route takes the member id from the session.

// commandFunc runs a command with the request's metadata and says how to answer.
type commandFunc func(m command.Meta) (status int, position uint64, body any, err error)

// runCommand decodes the body into in (when in is not nil), runs fn and answers with its status, body and
// commit position (X-Dossier-Position). Nothing is appended when decoding or validation fails.
func (s *Server) runCommand(w http.ResponseWriter, r *http.Request, in any, fn commandFunc) {
	if in != nil {
		if err := decode(r, in); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	m, err := meta(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status, pos, body, err := fn(m)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeCommand(w, status, pos, body)
}

type registrationRequest struct {
	NIR           string `json:"nir"` // 13 characters, no key
	Key           string `json:"key"` // 2 digits
	LastName      string `json:"last_name"`
	FirstName     string `json:"first_name"`
	BirthDate     string `json:"birth_date"` // YYYY-MM-DD
	Email         string `json:"email"`
	MobilePhone   string `json:"mobile_phone,omitempty"`
	TermsAccepted bool   `json:"terms_accepted"`
}

type registrationAccepted struct {
	RegistrationID uuid.UUID `json:"registration_id"`
	Message        string    `json:"message"`
	Position       string    `json:"position"`
}

// The same sentence whatever happened behind it: nobody learns whether a NIR is covered or registered.
const registrationMessage = "Votre demande d'inscription est enregistrée. Si les informations saisies correspondent à un assuré de la caisse, un code d'activation vient de vous être envoyé par email ; il est valable 15 minutes."

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var in registrationRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.MemberCommands.Register(r.Context(), m, command.RegisterInput{
			NIR: in.NIR, Key: in.Key, LastName: in.LastName, FirstName: in.FirstName, BirthDate: in.BirthDate,
			Email: in.Email, MobilePhone: in.MobilePhone, TermsAccepted: in.TermsAccepted,
		})
		return http.StatusAccepted, res.Position, registrationAccepted{RegistrationID: res.RegistrationID,
			Message: registrationMessage, Position: formatPosition(res.Position)}, err
	})
}

const resendMessage = "Si votre demande d'inscription est en cours, un nouveau code vient de vous être envoyé par email. Le code précédent n'est plus valable."

func (s *Server) resendCode(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.runCommand(w, r, nil, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.MemberCommands.ResendActivationCode(r.Context(), m, id)
		// No position: the answer is the same whether or not a code was sent (nothing tells a registration exists).
		return http.StatusAccepted, res.Position, sentenceBody{Message: resendMessage}, err
	})
}

type activationRequest struct {
	Code     string `json:"code"`
	Password string `json:"password"`
}

func (s *Server) activate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in activationRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.MemberCommands.Activate(r.Context(), m, id, in.Code, in.Password)
		return http.StatusCreated, res.Position, activationBody{MemberID: res.MemberID.String(),
			Message:  "Votre compte est activé. Vous pouvez vous connecter avec votre numéro de sécurité sociale et votre mot de passe.",
			Position: formatPosition(res.Position)}, err
	})
}

type loginRequest struct {
	NIR      string `json:"nir"` // 13 characters
	Password string `json:"password"`
}

// sessionBody describes a session to the portal ("le pavé de connexion").
type sessionBody struct {
	Token     string    `json:"token,omitempty"` // only when the session is created
	Kind      string    `json:"kind"`            // "member" or "staff"
	MemberID  uuid.UUID `json:"member_id,omitzero"`
	StaffID   uuid.UUID `json:"staff_id,omitzero"`
	Roles     []string  `json:"roles,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	Position  string    `json:"position,omitempty"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in loginRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		return s.openSession(w, r, kindMember, func(sessionID uuid.UUID) (loggedIn, error) {
			res, err := s.deps.MemberCommands.Login(r.Context(), m, in.NIR, in.Password, sessionID)
			return loggedIn{subject: res.MemberID, position: res.Position}, err
		})
	})
}

// loggedIn is what a login command tells openSession.
type loggedIn struct {
	subject  uuid.UUID
	position uint64
	roles    []string
}

// openSession runs a login command with the id of the session it would open and, when it succeeds, stores the
// session under a fresh token, hands the token to the browser (cookie) and answers with it (for a Bearer header).
func (s *Server) openSession(w http.ResponseWriter, r *http.Request, kind string, login func(sessionID uuid.UUID) (loggedIn, error)) (int, uint64, any, error) {
	token, digest := credentials.NewToken()
	sessionID := s.deps.NewID()
	in, err := login(sessionID)
	if err != nil {
		return 0, 0, nil, err
	}
	sess, err := s.deps.Sessions.Create(r.Context(), digest, sessionID, in.subject, kind)
	if err != nil {
		return 0, 0, nil, err
	}
	setSessionCookie(w, token, sess.CreatedAt.Add(s.deps.SessionAbsolute))
	body := sessionBody{Token: token, Kind: kind, Roles: in.roles, ExpiresAt: sess.ExpiresAt, Position: formatPosition(in.position)}
	if kind == kindMember {
		body.MemberID = in.subject
	} else {
		body.StaffID = in.subject
	}
	return http.StatusCreated, in.position, body, nil
}

// currentSession tells the portal who is connected and until when.
func (s *Server) currentSession(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	body := sessionBody{Kind: p.Kind, ExpiresAt: p.ExpiresAt}
	if p.Kind == kindMember {
		body.MemberID = p.ID
	} else {
		body.StaffID, body.Roles = p.ID, p.Roles
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r.Context())
	s.runCommand(w, r, nil, func(m command.Meta) (int, uint64, any, error) {
		var res command.Result
		var err error
		if p.Kind == kindMember {
			res, err = s.deps.MemberCommands.Logout(r.Context(), m, p.ID, p.SessionID, "logout")
		} else {
			res, err = s.deps.StaffCommands.StaffLogout(r.Context(), m, p.ID, p.SessionID)
		}
		if err != nil {
			return 0, 0, nil, err
		}
		if err := s.deps.Sessions.Revoke(r.Context(), p.Token); err != nil {
			return 0, 0, nil, err
		}
		clearSessionCookie(w)
		return http.StatusOK, res.Position, positionOf(res.Position), nil
	})
}

type addressRequest struct {
	Line1         string `json:"line1"`
	Line2         string `json:"line2,omitempty"`
	PostalCode    string `json:"postal_code"`
	City          string `json:"city"`
	Country       string `json:"country,omitempty"`
	EffectiveFrom string `json:"effective_from"` // YYYY-MM-DD
}

func (s *Server) changeAddress(w http.ResponseWriter, r *http.Request) {
	var in addressRequest
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.MemberCommands.ChangeAddress(r.Context(), m, member, command.AddressInput{Line1: in.Line1, Line2: in.Line2,
			PostalCode: in.PostalCode, City: in.City, Country: in.Country, EffectiveFrom: in.EffectiveFrom})
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

type phoneRequest struct {
	MobilePhone string `json:"mobile_phone"` // empty removes it
}

func (s *Server) changePhone(w http.ResponseWriter, r *http.Request) {
	var in phoneRequest
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.MemberCommands.ChangePhone(r.Context(), m, member, in.MobilePhone)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

type emailRequest struct {
	Email string `json:"email"`
}

func (s *Server) requestEmailChange(w http.ResponseWriter, r *http.Request) {
	var in emailRequest
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.MemberCommands.RequestEmailChange(r.Context(), m, member, in.Email)
		return http.StatusAccepted, res.Position, messageBody{
			Message:  "Un code de confirmation vient d'être envoyé à votre nouvelle adresse email. Votre adresse ne changera qu'une fois ce code saisi.",
			Position: formatPosition(res.Position)}, err
	})
}

type codeRequest struct {
	Code string `json:"code"`
}

func (s *Server) confirmEmailChange(w http.ResponseWriter, r *http.Request) {
	var in codeRequest
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.MemberCommands.ConfirmEmailChange(r.Context(), m, member, in.Code)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

type passwordChangeRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// changePassword records the new password, then ends every other session of the member.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) {
	var in passwordChangeRequest
	p := principalOf(r.Context())
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.MemberCommands.ChangePassword(r.Context(), m, p.ID, in.CurrentPassword, in.NewPassword, p.SessionID)
		if err != nil {
			return 0, 0, nil, err
		}
		if _, err := s.deps.Sessions.RevokeAllFor(r.Context(), p.ID, p.SessionID); err != nil {
			return 0, 0, nil, err
		}
		return http.StatusOK, res.Position, positionOf(res.Position), nil
	})
}

type resetRequest struct {
	NIR   string `json:"nir"` // 13 characters
	Email string `json:"email"`
}

const resetMessage = "Si ces informations correspondent à un compte, un code de réinitialisation vient d'être envoyé à l'adresse email de ce compte ; il est valable 15 minutes."

func (s *Server) requestPasswordReset(w http.ResponseWriter, r *http.Request) {
	var in resetRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.MemberCommands.RequestPasswordReset(r.Context(), m, in.NIR, in.Email)
		return http.StatusAccepted, res.Position, resetAccepted{ResetID: res.ResetID.String(), Message: resetMessage,
			Position: formatPosition(res.Position)}, err
	})
}

// completePasswordReset sets the new password and ends every session of the member.
func (s *Server) completePasswordReset(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in activationRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.MemberCommands.CompletePasswordReset(r.Context(), m, id, in.Code, in.Password)
		if err != nil {
			return 0, 0, nil, err
		}
		if _, err := s.deps.Sessions.RevokeAllFor(r.Context(), res.MemberID, uuid.Nil); err != nil {
			return 0, 0, nil, err
		}
		return http.StatusOK, res.Position, messageBody{
			Message:  "Votre mot de passe est modifié. Vous pouvez vous connecter avec votre nouveau mot de passe.",
			Position: formatPosition(res.Position)}, nil
	})
}

// accountBody is the member's account as the portal reads it (the accounts read model), its position a string of
// digits as in every answer of the API (a JSON number loses digits above 2^53 in JavaScript).
type accountBody struct {
	accounts.Account
	Position string `json:"position"` // shallower than Account.Position: encoding/json writes this one
}

// accountBodyOf is the answer of an account.
func accountBodyOf(a accounts.Account) accountBody {
	return accountBody{Account: a, Position: formatPosition(a.Position)}
}

// me returns the caller's own account.
func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	acc, err := s.deps.Accounts.Get(r.Context(), principalOf(r.Context()).ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, accountBodyOf(acc))
}
