package staff

// The default positions (qualité, CRPA L212-1) a decision states for its author, by the roles the author holds, until
// positions are recorded per staff member.
const (
	PositionCaseworker = "Gestionnaire de dossiers"
	PositionSupervisor = "Responsable d'unité de gestion"
	PositionMedical    = "Gestionnaire du service médical"
)

// PositionOf returns the position a decision states for an author holding roles (a supervisor's first, then the
// medical service's, else a caseworker's). It is never empty: a decision always states its author's position.
func PositionOf(roles []string) string {
	has := func(role string) bool {
		for _, r := range roles {
			if r == role {
				return true
			}
		}
		return false
	}
	switch {
	case has(RoleSupervisor):
		return PositionSupervisor
	case MedicalService(roles):
		return PositionMedical
	}
	return PositionCaseworker
}

// Position returns the position a decision states for this staff member (PositionOf their roles).
func (s *Staff) Position() string { return PositionOf(s.roles) }
