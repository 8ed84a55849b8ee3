// Package insured is the insured-person reference: the people the fund covers, against whom a registration is
// checked (registration is open only to them). The fund's file is loaded with `dossier admin import-insured`.
//
// # Why events
//
// The reference lives in the event store, one stream per person, rather than in a SQL reference table: a
// registration must be checked against the reference consistently (no projection lag between an import and the
// first registration of a newly covered person), the stream name is the only index needed (derived from the NIR by
// a keyed hash, so no NIR appears in a stream name), every load and every correction is an audited fact with its
// actor and time, and crypto-shredding will cover it with the rest of the personal data. A directory for staff
// (search by name) is a projection of these events.
//
// Streams are "insured-<uuid>" with uuid = Keys.StreamFor("insured", nir.Body()); see StreamFor. A stream holds
// one InsuredPersonRecorded, then one InsuredPersonCorrected per re-import that changed the person's data.
//
// # Pieces
//
//   - Identity and NewIdentity: a validated row of the reference (NIR with key, names, birth date);
//   - Decide: what to append for an identity given a stream's history (nothing when identical: re-imports are
//     idempotent);
//   - Importer: the application service behind the admin command (CSV in, Report out);
//   - Reference.Match: the check registration calls, reading the stream directly;
//   - FoldName: the case- and accent-insensitive comparison of names.
//
// The package imports only the standard library, google/uuid and domain packages; the store and the keyed hash are
// ports (Store, Loader, Keys) implemented by adapters/kurrentdb and adapters/keyedhash.
package insured

import (
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/nir"
)

// Category is the stream category of the reference, and the purpose of its keyed stream ids.
const Category = "insured"

// Keys derives stream ids from a NIR without revealing it (adapters/keyedhash.Hasher implements it). The same
// purpose and canonical input must always give the same id.
type Keys interface {
	StreamFor(purpose, canonical string) uuid.UUID
}

// StreamFor returns the reference stream of the person with NIR n.
func StreamFor(keys Keys, n nir.NIR) event.StreamID {
	return event.NewStreamID(Category, keys.StreamFor(Category, n.Body()))
}
