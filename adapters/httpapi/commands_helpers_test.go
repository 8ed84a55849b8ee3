package httpapi

import (
	"testing"

	"github.com/msa-dossier/dossier/domain/command"
)

// withCommands fills d's command handlers over store, each with the ports it takes (totp may be nil: no staff
// login).
func withCommands(t *testing.T, d Deps, store command.EventStore, keys command.Keys, hasher command.PasswordHasher,
	totp command.TOTPValidator) Deps {
	t.Helper()
	rt := command.Runtime{Store: store}
	var err error
	check := func() {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	d.MemberCommands, err = command.NewMembers(rt, keys, hasher, nil)
	check()
	d.StaffCommands, err = command.NewStaff(rt, keys, hasher, totp)
	check()
	d.CaseCommands, err = command.NewCases(rt)
	check()
	d.FinanceCommands, err = command.NewFinance(rt, keys)
	check()
	d.EstimateCommands, err = command.NewEstimates(rt)
	check()
	return d
}
