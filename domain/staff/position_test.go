package staff_test

import (
	"testing"

	"github.com/msa-dossier/dossier/domain/staff"
)

// TestPositionOf: a decision always states its author's position (CRPA L212-1), by the roles they hold.
func TestPositionOf(t *testing.T) {
	for want, roles := range map[string][]string{
		staff.PositionCaseworker: {staff.RoleCaseworker},
		staff.PositionSupervisor: {staff.RoleCaseworker, staff.RoleSupervisor},
		staff.PositionMedical:    {staff.RoleCaseworker, staff.RoleMedical},
	} {
		if got := staff.PositionOf(roles); got != want {
			t.Errorf("PositionOf(%v) = %q, want %q", roles, got, want)
		}
	}
	if staff.PositionOf(nil) == "" {
		t.Error("no position for a staff member without roles")
	}
}
