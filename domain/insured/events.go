package insured

import "github.com/msa-dossier/dossier/domain/event"

// Stable event type names. They are stored with every event: never rename them.
const (
	TypeRecorded  = "InsuredPersonRecorded"
	TypeCorrected = "InsuredPersonCorrected"
)

// Recorded says that the fund covers a person: the first event of an insured stream. Personal data: the payload
// is never logged.
type Recorded struct {
	// NIR is the canonical 13-character body (nir.NIR.Body()).
	NIR string `json:"nir" personal:"yes"`
	// Key is the NIR's key, 1-97 (redundant with NIR; kept so the stored fact is the 15-character number as given).
	Key int `json:"key" personal:"yes"`
	// LastName and FirstName are as imported, trimmed and with runs of spaces collapsed (see NewIdentity).
	LastName  string `json:"last_name" personal:"yes"`
	FirstName string `json:"first_name" personal:"yes"`
	// BirthDate is the calendar date of birth, "YYYY-MM-DD".
	BirthDate string `json:"birth_date" personal:"yes"`
}

// Corrected says that a re-import changed a recorded person's data. It carries the whole new identity (the NIR,
// which names the stream, cannot change).
type Corrected struct {
	LastName  string `json:"last_name" personal:"yes"`
	FirstName string `json:"first_name" personal:"yes"`
	BirthDate string `json:"birth_date" personal:"yes"`
}

// Definitions lists the events of the reference, for the registry main builds.
func Definitions() []event.Definition {
	return []event.Definition{
		event.Define[Recorded](TypeRecorded),
		event.Define[Corrected](TypeCorrected),
	}
}
