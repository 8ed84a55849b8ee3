package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// SessionCookie is the name of the session cookie (HttpOnly, Secure, SameSite=Strict). The same token is
// accepted as "Authorization: Bearer <token>" for non-browser clients.
const SessionCookie = "dossier_session"

// Session kinds, stored as the session's role.
const (
	kindMember = "member"
	kindStaff  = "staff"
)

var (
	errNoSession     = failure.New(failure.Unauthenticated, "session.required", "no session")
	errNotMember     = failure.New(failure.Forbidden, "session.member_required", "member session required")
	errNotStaff      = failure.New(failure.Forbidden, "session.staff_required", "staff session required")
	errRoleForbidden = failure.New(failure.Forbidden, "staff.role_forbidden", "role not allowed")
)

// principal is the authenticated caller of a request.
type principal struct {
	Kind      string // kindMember or kindStaff
	ID        uuid.UUID
	Roles     []string // staff roles, read from the staff stream at each request
	SessionID uuid.UUID
	Token     string
	ExpiresAt time.Time
}

type principalKey struct{}

func principalOf(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	return p
}

// tokenOf returns the session token a request carries: the Bearer header first, then the cookie.
func tokenOf(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// authenticate resolves the request's session, or answers 401.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*principal, bool) {
	p, err := s.resolve(r)
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return p, true
}

// resolve returns the caller of the request's session: errNoSession without a token, the session store's error
// for a token that opens no live session (401) or when the store fails.
func (s *Server) resolve(r *http.Request) (*principal, error) {
	token := tokenOf(r)
	if token == "" {
		return nil, errNoSession
	}
	sess, err := s.deps.Sessions.Lookup(r.Context(), token)
	if err != nil {
		return nil, err
	}
	p := &principal{Kind: sess.Role, ID: sess.Subject, SessionID: sess.ID, Token: token, ExpiresAt: sess.ExpiresAt}
	if p.Kind == kindStaff {
		// Roles are read at every request: an admin's change takes effect at once. The staff stream must also show
		// the session open: a reset of the second factor ends every session with its event alone, even should the
		// session table not have been updated.
		roles, err := s.deps.StaffCommands.StaffSession(r.Context(), p.ID, p.SessionID)
		if err != nil {
			return nil, err
		}
		p.Roles = roles
	}
	return p, nil
}

// member wraps a handler that needs a member session (route Auth "member"; mount applies it).
func (s *Server) member(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if p.Kind != kindMember {
			s.writeError(w, r, errNotMember)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// staff wraps a handler that needs a staff session holding one of roles (route Auth "staff" with its StaffRoles;
// mount applies it).
func (s *Server) staff(roles []string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The staff stream the session check reads serves the request's commands too (command.WithStaffScope).
		r = r.WithContext(command.WithStaffScope(r.Context()))
		p, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if p.Kind != kindStaff {
			s.writeError(w, r, errNotStaff)
			return
		}
		if !slices.ContainsFunc(p.Roles, func(role string) bool { return slices.Contains(roles, role) }) {
			s.writeError(w, r, errRoleForbidden)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// anySession wraps a handler that accepts a member or a staff session (route Auth "session"; mount applies it).
func (s *Server) anySession(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(command.WithStaffScope(r.Context()))
		p, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

type sessionErrorKey struct{}

// optionalSession wraps a handler open to anyone (route Auth "member-optional") that acts for a member when the
// request carries a valid member session. A valid session puts its principal in the context as the other wrappers
// do; no session, or one that does not resolve (expired, unknown, the session store unreachable), leaves the request
// anonymous, and the reason waits in the context: the part of the handler that needs the member gets it from
// optionalMember. So the anonymous part of the operation never fails because of a stale cookie.
func (s *Server) optionalSession(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tokenOf(r) == "" {
			next(w, r)
			return
		}
		ctx := r.Context()
		if p, err := s.resolve(r); err != nil {
			ctx = context.WithValue(ctx, sessionErrorKey{}, err)
		} else {
			ctx = context.WithValue(ctx, principalKey{}, p)
		}
		next(w, r.WithContext(ctx))
	})
}

// optionalMember returns the member of a request that went through optionalSession, or the error to answer: the
// session's own (session.invalid, 401; the store's failure, 503), errNotMember for a staff session (403), and
// without any session missing (401).
func optionalMember(r *http.Request, missing error) (*principal, error) {
	if p := principalOf(r.Context()); p != nil {
		if p.Kind != kindMember {
			return nil, errNotMember
		}
		return p, nil
	}
	if err, ok := r.Context().Value(sessionErrorKey{}).(error); ok {
		return nil, err
	}
	return nil, missing
}

// setSessionCookie hands the token to a browser.
func setSessionCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

func clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// actorOf is the event actor of the request's caller; anonymous requests act as the public.
func actorOf(r *http.Request) event.Actor {
	p := principalOf(r.Context())
	if p == nil {
		return event.Actor{ID: "anonymous", Role: event.RoleMember}
	}
	if p.Kind == kindMember {
		return event.Actor{ID: p.ID.String(), Role: event.RoleMember}
	}
	return event.Actor{ID: p.ID.String(), Role: staffActorRole(p.Roles)}
}

// staffActorRole picks the role a staff member acts in: the most privileged one that can work cases first
// (supervisor, caseworker), then admin, then auditor (read-only), so a caseworker who is also an auditor can
// still work cases.
func staffActorRole(roles []string) event.Role {
	for _, r := range []event.Role{event.RoleSupervisor, event.RoleCaseworker, event.RoleAdmin, event.RoleAuditor} {
		if slices.Contains(roles, string(r)) {
			return r
		}
	}
	return event.RoleCaseworker
}
