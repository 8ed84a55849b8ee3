package nir

import (
	"errors"

	"github.com/msa-dossier/dossier/domain/failure"
)

// The errors of this package. Each is a failure.Invalid sentinel with a stable machine code ("nir.…") and, as its
// message, the French sentence to show the member: failure.CodeOf(err) gives the code, Message(err) the sentence,
// even when err wraps the sentinel. Parse and friends return the sentinels bare, never wrapped with the input, so
// that an error message can be logged without leaking a NIR.
//
// Checks run in a fixed order — length, characters, field domains, then the key — and the first failure is
// returned: a NIR with a valid key but a month of 13 fails with ErrMonth, not ErrKey.
var (
	// ErrLength: the input, once normalised, is not 15 characters long (Parse).
	ErrLength = failure.New(failure.Invalid, "nir.invalid_length",
		"Le numéro de sécurité sociale doit comporter 15 caractères : les 13 caractères du numéro suivis de la clé à 2 chiffres.")
	// ErrLoginLength: the input, once normalised, is not 13 characters long (ParseLogin).
	ErrLoginLength = failure.New(failure.Invalid, "nir.invalid_login_length",
		"Votre identifiant est votre numéro de sécurité sociale à 13 caractères, sans la clé.")
	// ErrFormat: a character other than a digit where a digit is expected, or any character that is neither a digit
	// nor a letter nor a separator (space, dot, dash).
	ErrFormat = failure.New(failure.Invalid, "nir.invalid_format",
		"Le numéro de sécurité sociale ne doit contenir que des chiffres (et 2A ou 2B pour une naissance en Corse).")
	// ErrSex: the first digit is not a sex digit of any kind (0, 5, 6, 9).
	ErrSex = failure.New(failure.Invalid, "nir.invalid_sex",
		"Le numéro de sécurité sociale doit commencer par 1 ou 2.")
	// ErrProvisional: the first digit is 3, 4, 7 or 8, a provisional or waiting number rather than a certified NIR
	// (see Parse).
	ErrProvisional = failure.New(failure.Invalid, "nir.provisional",
		"Ce numéro est un numéro provisoire. L'espace privé s'ouvre avec votre numéro de sécurité sociale définitif : contactez votre caisse.")
	// ErrMonth: the month of birth is 00, 13-19 or 43-49.
	ErrMonth = failure.New(failure.Invalid, "nir.invalid_month",
		"Le mois de naissance indiqué dans le numéro de sécurité sociale (4e et 5e caractères) n'est pas valide.")
	// ErrDepartment: the department of birth is 00, or holds letters other than 2A or 2B.
	ErrDepartment = failure.New(failure.Invalid, "nir.invalid_department",
		"Le département de naissance indiqué dans le numéro de sécurité sociale (6e et 7e caractères) n'est pas valide.")
	// ErrOrder: the order number (characters 11-13) is 000.
	ErrOrder = failure.New(failure.Invalid, "nir.invalid_order",
		"Le numéro d'ordre indiqué dans le numéro de sécurité sociale (11e à 13e caractères) n'est pas valide.")
	// ErrKey: the key is not 01-97, or does not match the 13 first characters.
	ErrKey = failure.New(failure.Invalid, "nir.invalid_key",
		"La clé ne correspond pas au numéro de sécurité sociale : vérifiez le numéro et la clé.")
	// ErrBirthYear: the year of birth in the NIR is not that of the declared birth date (Check).
	ErrBirthYear = failure.New(failure.Invalid, "nir.birth_year_mismatch",
		"L'année de naissance ne correspond pas à votre numéro de sécurité sociale.")
	// ErrBirthMonth: the month of birth in the NIR is not that of the declared birth date (Check).
	ErrBirthMonth = failure.New(failure.Invalid, "nir.birth_month_mismatch",
		"Le mois de naissance ne correspond pas à votre numéro de sécurité sociale.")
	// ErrSexMismatch: the sex digit is not that of the declared sex (Check).
	ErrSexMismatch = failure.New(failure.Invalid, "nir.sex_mismatch",
		"Le sexe indiqué ne correspond pas à votre numéro de sécurité sociale.")
)

// sentinels lists every error of the package, for Message and Errors.
var sentinels = []*failure.Error{
	ErrLength, ErrLoginLength, ErrFormat, ErrSex, ErrProvisional, ErrMonth, ErrDepartment, ErrOrder, ErrKey,
	ErrBirthYear, ErrBirthMonth, ErrSexMismatch,
}

// Message returns the French sentence for the member of the nir error in err's chain, or "" when err holds none.
// It is the sentinel's own message, so the HTTP layer may equally take the message of the outermost *failure.Error
// with a code; Message exists for callers that wrapped the error with context of their own.
func Message(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s.Err.Error()
		}
	}
	return ""
}

// Errors returns every sentinel of the package (for documentation and API error catalogues).
func Errors() []*failure.Error {
	out := make([]*failure.Error, len(sentinels))
	copy(out, sentinels)
	return out
}
