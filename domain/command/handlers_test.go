package command_test

import (
	"time"

	"github.com/msa-dossier/dossier/domain/command"
)

// testDeps are the ports a fixture has at hand; newHandlers builds each handler with the ones it takes.
type testDeps struct {
	Store   command.EventStore
	Keys    command.Keys
	Hasher  command.PasswordHasher
	Insured command.InsuredReference
	TOTP    command.TOTPValidator
	Clock   func() time.Time
}

// handlers are every handler of a fixture over the same store, embedded so that a test calls any command on one
// value (f.h.Login, f.h.Act). Production code builds only the handlers it uses, each with only its ports.
type handlers struct {
	*command.Members
	*command.Staff
	*command.Cases
	*command.Finance
	*command.Estimates
}

func newHandlers(d testDeps) (handlers, error) {
	rt := command.Runtime{Store: d.Store, Clock: d.Clock}
	var (
		h   handlers
		err error
	)
	if h.Members, err = command.NewMembers(rt, d.Keys, d.Hasher, d.Insured); err != nil {
		return handlers{}, err
	}
	if h.Staff, err = command.NewStaff(rt, d.Keys, d.Hasher, d.TOTP); err != nil {
		return handlers{}, err
	}
	if h.Cases, err = command.NewCases(rt); err != nil {
		return handlers{}, err
	}
	if h.Finance, err = command.NewFinance(rt, d.Keys); err != nil {
		return handlers{}, err
	}
	if h.Estimates, err = command.NewEstimates(rt); err != nil {
		return handlers{}, err
	}
	return h, nil
}
