package httpapi

import (
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
)

type erasureRequest struct {
	Reason string `json:"reason"` // member_request or retention_ended
	Ticket string `json:"ticket"` // the reference of the request in the fund's records
}

type erasureBody struct {
	// Subjects are the data subjects whose keys the server destroys (the member's and its registration's).
	Subjects []string `json:"subjects"`
	Position string   `json:"position"`
}

type legalHoldRequest struct {
	Ticket string `json:"ticket"`
	Reason string `json:"reason"` // litigation, inspection or fraud_investigation
}

// asAdministrator is the Meta of an administrators-only route: the caller acts as an administrator, whatever other
// role they hold (the route admits administrators only).
func asAdministrator(m command.Meta) command.Meta {
	m.Actor.Role = event.RoleAdmin
	return m
}

// eraseMember records the erasure of a member's personal data (administrators only); the member's sessions end.
func (s *Server) eraseMember(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in erasureRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		if s.deps.Queries.Requests == nil {
			return 0, 0, nil, errors.New("httpapi: erasure without the member-requests read model")
		}
		res, err := s.deps.MemberCommands.WithOpenRequests(s.deps.Queries.Requests).EraseMemberData(r.Context(),
			asAdministrator(m), id, in.Reason, in.Ticket)
		if err != nil {
			return 0, 0, nil, err
		}
		if _, err := s.deps.Sessions.RevokeAllFor(r.Context(), id, uuid.Nil); err != nil {
			return 0, 0, nil, err
		}
		subjects := make([]string, len(res.Subjects))
		for i, s := range res.Subjects {
			subjects[i] = s.String()
		}
		return http.StatusOK, res.Position, erasureBody{Subjects: subjects, Position: formatPosition(res.Position)}, nil
	})
}

// placeLegalHold keeps a member's data from erasure until the hold is lifted (administrators only).
func (s *Server) placeLegalHold(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in legalHoldRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.MemberCommands.PlaceLegalHold(r.Context(), asAdministrator(m), id, in.Ticket, in.Reason)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

// liftLegalHold lifts the legal hold of a ticket (administrators only).
func (s *Server) liftLegalHold(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ticket := r.PathValue("ticket")
	s.runCommand(w, r, nil, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.MemberCommands.LiftLegalHold(r.Context(), asAdministrator(m), id, ticket)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}
