package insured

import (
	"fmt"
	"time"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// ErrStreamMismatch means an insured stream holds another NIR than the one whose keyed hash named it: a bug or a
// key change, never a user mistake.
var ErrStreamMismatch = failure.New(failure.Internal, "insured.stream_mismatch", "insured stream holds another NIR")

// Person is the state of one insured stream: who the fund covers under that NIR, as of the last event.
type Person struct {
	known     bool
	nirBody   string
	key       int
	lastName  string
	firstName string
	birthDate string
}

// Rehydrate folds a stream's history into a Person. Events of other types are ignored (a tolerant reader: a later
// version may add some).
func Rehydrate(history []event.Envelope) Person {
	var p Person
	for _, env := range history {
		p.apply(env.Event)
	}
	return p
}

func (p *Person) apply(e any) {
	switch e := e.(type) {
	case Recorded:
		*p = Person{known: true, nirBody: e.NIR, key: e.Key, lastName: e.LastName, firstName: e.FirstName, birthDate: e.BirthDate}
	case Corrected:
		p.lastName, p.firstName, p.birthDate = e.LastName, e.FirstName, e.BirthDate
	}
}

// Known reports whether the stream records a person.
func (p Person) Known() bool { return p.known }

// Matches reports whether a declared identity is this person's: the date of birth exactly (its calendar date, in
// its own location), the last name after folding (FoldName), and the first name after folding, either whole or,
// when the reference holds several given names, the first of them ("Jean" matches "Jean Pierre Marie"). A person not
// known matches nothing.
func (p Person) Matches(lastName, firstName string, birthDate time.Time) bool {
	if !p.known || formatDate(civil(birthDate)) != p.birthDate {
		return false
	}
	if FoldName(lastName) == "" || FoldName(lastName) != FoldName(p.lastName) {
		return false
	}
	first := FoldName(firstName)
	return first != "" && (first == FoldName(p.firstName) || first == FoldName(firstGivenName(p.firstName)))
}

// Outcome is what Decide made of an identity.
type Outcome int

// The outcomes.
const (
	OutcomeUnchanged Outcome = iota // the stream already says exactly this: nothing to append
	OutcomeNew                      // the person was not recorded: InsuredPersonRecorded
	OutcomeCorrected                // the person's data differ: InsuredPersonCorrected
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case OutcomeUnchanged:
		return "unchanged"
	case OutcomeNew:
		return "new"
	case OutcomeCorrected:
		return "corrected"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Decide returns the events that bring an insured stream, given its history, to identity id: a Recorded for a new
// person, a Corrected when names or birth date differ from the current ones (compared exactly, as stored: a change
// of accent or case is a correction of the reference), nothing when they are identical, so that re-importing the
// same file appends nothing. A stream recording another NIR is ErrStreamMismatch.
func Decide(history []event.Envelope, id Identity) ([]any, Outcome, error) {
	p := Rehydrate(history)
	birth := formatDate(id.BirthDate)
	switch {
	case !p.known:
		return []any{Recorded{NIR: id.NIR.Body(), Key: id.NIR.Key(), LastName: id.LastName, FirstName: id.FirstName, BirthDate: birth}}, OutcomeNew, nil
	case p.nirBody != id.NIR.Body():
		return nil, OutcomeUnchanged, ErrStreamMismatch
	case p.lastName == id.LastName && p.firstName == id.FirstName && p.birthDate == birth:
		return nil, OutcomeUnchanged, nil
	}
	return []any{Corrected{LastName: id.LastName, FirstName: id.FirstName, BirthDate: birth}}, OutcomeCorrected, nil
}
