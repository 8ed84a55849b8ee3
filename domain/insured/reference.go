package insured

import (
	"context"
	"time"

	"github.com/msa-dossier/dossier/domain/nir"
)

// Reference answers registration's question: is this the identity of a person the fund covers?
type Reference struct {
	store Loader
	keys  Keys
}

// NewReference returns a reference reading insured streams from store, named with keys.
func NewReference(store Loader, keys Keys) *Reference {
	return &Reference{store: store, keys: keys}
}

// Match reports whether the fund covers a person with NIR n and this identity (see Person.Matches for the
// comparison of names and birth date). It reads the person's stream directly, so an import is visible at once.
// An unknown NIR and a known NIR with another identity both give false: callers must answer both the same way
// (no enumeration). The error is only the store's.
func (r *Reference) Match(ctx context.Context, n nir.NIR, lastName, firstName string, birthDate time.Time) (bool, error) {
	if n.IsZero() {
		return false, nil
	}
	history, err := r.store.Load(ctx, StreamFor(r.keys, n))
	if err != nil {
		return false, err
	}
	p := Rehydrate(history)
	return p.nirBody == n.Body() && p.Matches(lastName, firstName, birthDate), nil
}
