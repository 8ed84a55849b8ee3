package member

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/msa-dossier/dossier/domain/failure"
)

// The errors of contact details. Each is failure.Invalid with a stable code; its French sentence for the member is
// in domain/messages.
var (
	ErrEmailRequired        = failure.New(failure.Invalid, "email.required", "email required")
	ErrEmailInvalid         = failure.New(failure.Invalid, "email.invalid", "invalid email")
	ErrPhoneInvalid         = failure.New(failure.Invalid, "phone.invalid", "invalid French mobile phone number")
	ErrAddressLine1Required = failure.New(failure.Invalid, "address.line1_required", "first address line required")
	ErrAddressLineInvalid   = failure.New(failure.Invalid, "address.line_invalid",
		"address line too long or with control characters")
	ErrPostalCodeInvalid        = failure.New(failure.Invalid, "address.postal_code_invalid", "postal code is not 5 digits")
	ErrForeignPostalCodeInvalid = failure.New(failure.Invalid, "address.foreign_postal_code_invalid",
		"invalid foreign postal code")
	ErrCityRequired         = failure.New(failure.Invalid, "address.city_required", "city required")
	ErrCityInvalid          = failure.New(failure.Invalid, "address.city_invalid", "city too long or with control characters")
	ErrCountryInvalid       = failure.New(failure.Invalid, "address.country_invalid", "country is not a two-letter code")
	ErrEffectiveFromInvalid = failure.New(failure.Invalid, "address.effective_from_invalid",
		"invalid effective date (want YYYY-MM-DD)")
	ErrEffectiveFromTooEarly = failure.New(failure.Invalid, "address.effective_from_too_early",
		"effective date more than a year ago")
)

// ContactErrors returns the sentinels of contact details.
func ContactErrors() []*failure.Error {
	return []*failure.Error{ErrEmailRequired, ErrEmailInvalid, ErrPhoneInvalid, ErrAddressLine1Required,
		ErrAddressLineInvalid, ErrPostalCodeInvalid, ErrForeignPostalCodeInvalid, ErrCityRequired, ErrCityInvalid,
		ErrCountryInvalid, ErrEffectiveFromInvalid, ErrEffectiveFromTooEarly}
}

// MaxEmailLength is the longest address accepted (RFC 5321's path limit less the angle brackets).
const MaxEmailLength = 254

// NormalizeEmail returns an email address trimmed, with its domain in lower case, or ErrEmailRequired /
// ErrEmailInvalid. Accepted: what net/mail.ParseAddress reads as a bare address (no display name, no angle
// brackets, no quoted local part), printable ASCII only (internationalised addresses need SMTPUTF8, which not
// every relay has), at most MaxEmailLength characters with a local part of at most 64, and a domain of at least
// two DNS labels (letters, digits, hyphens; not starting or ending with a hyphen). The local part keeps its case:
// it may be significant to the receiving server.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ErrEmailRequired
	}
	if len(s) > MaxEmailLength {
		return "", ErrEmailInvalid
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return "", ErrEmailInvalid
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", ErrEmailInvalid
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at > 64 || !validDomain(s[at+1:]) {
		return "", ErrEmailInvalid
	}
	return s[:at+1] + strings.ToLower(s[at+1:]), nil
}

// validDomain reports whether d is two or more DNS labels of letters, digits and inner hyphens, with a top-level
// label that is not all digits.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 || len(d) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.Trim(tld, "0123456789") != ""
}

// overseasMobile maps the national mobile prefixes of the overseas departments to their country calling codes:
// their numbers are dialled 06 9x … at home but are +590, +594, +596 or +262 numbers, not +33.
var overseasMobile = map[string]string{
	"690": "590", "691": "590", // Guadeloupe, Saint-Martin, Saint-Barthélemy
	"694": "594",               // Guyane
	"696": "596", "697": "596", // Martinique
	"692": "262", "693": "262", // La Réunion
	"639": "262", // Mayotte
}

// NormalizeMobilePhone returns a French mobile number in E.164 form, "" for an empty input (no phone), or
// ErrPhoneInvalid. Accepted: the national form 06/07 followed by 8 digits, +33 or 0033 followed by 6 or 7 and 8
// digits (also with the "(0)" people insert: +33 (0)6 …), with spaces, dots, dashes or slashes anywhere; numbers
// +336… and +337… come out. The overseas departments' mobiles (0690, 0691, 0694, 0696, 0697, 0692, 0693, 0639,
// or already +590/+594/+596/+262 with those prefixes) come out under their own country code.
func NormalizeMobilePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '+' && b.Len() == 0:
			b.WriteRune(r)
		case r == ' ', r == '.', r == '-', r == '/', r == '(', r == ')', r == '\u00a0', r == '\u202f':
		default:
			return "", ErrPhoneInvalid
		}
	}
	d := b.String()
	switch {
	case strings.HasPrefix(d, "+"):
		return international(d[1:])
	case strings.HasPrefix(d, "00"):
		return international(d[2:])
	case len(d) == 10 && d[0] == '0':
		return national(d[1:], "")
	}
	return "", ErrPhoneInvalid
}

// national checks the 9 digits after the trunk 0 (or after a country code) and returns the E.164 number; cc is
// the country code the number was given with ("" for the national form, which says nothing about it). Under +33,
// a number is taken as given; under an overseas code, its prefix must be one of that department's.
func national(n, cc string) (string, error) {
	if len(n) != 9 || strings.Trim(n, "0123456789") != "" || (n[0] != '6' && n[0] != '7') {
		return "", ErrPhoneInvalid
	}
	overseas, isOverseas := overseasMobile[n[:3]]
	switch {
	case cc == "" && isOverseas:
		cc = overseas
	case cc == "":
		cc = "33"
	case cc != "33" && (!isOverseas || overseas != cc):
		return "", ErrPhoneInvalid
	}
	return "+" + cc + n, nil
}

// international handles the digits after + or 00.
func international(d string) (string, error) {
	for _, cc := range []string{"33", "590", "594", "596", "262"} {
		if rest, ok := strings.CutPrefix(d, cc); ok {
			if len(rest) == 10 && rest[0] == '0' { // +33 (0)6 …
				rest = rest[1:]
			}
			return national(rest, cc)
		}
	}
	return "", ErrPhoneInvalid
}

// frenchPostal lists the countries whose postal codes are French 5-digit codes: France and the overseas
// departments and collectivities with their own ISO code, and Monaco.
var frenchPostal = map[string]bool{"FR": true, "GP": true, "MQ": true, "GF": true, "RE": true, "YT": true, "PM": true,
	"BL": true, "MF": true, "NC": true, "PF": true, "WF": true, "MC": true}

// MaxAddressLength bounds an address line and a city name, in characters.
const MaxAddressLength = 100

// NewAddress validates and normalises a postal address into the event that records it: lines and city trimmed
// with runs of spaces collapsed; line 1 and the city required; the country an ISO 3166-1 alpha-2 code, "FR" when
// empty; a 5-digit postal code for France and the territories using French postal codes (spaces removed:
// "75 015"), letters, digits, spaces and hyphens (at most 10) elsewhere, where it may be empty; the effective
// date YYYY-MM-DD, today when empty, not more than a year before today. Errors are wrapped with failure.Field:
// "line1", "line2", "postal_code", "city", "country", "effective_from".
func NewAddress(line1, line2, postalCode, city, country, effectiveFrom string, today time.Time) (AddressChanged, error) {
	var a AddressChanged
	var err error
	if a.Line1, err = addressText(line1, ErrAddressLine1Required, ErrAddressLineInvalid); err != nil {
		return AddressChanged{}, failure.Field("line1", err)
	}
	if a.Line2, err = addressText(line2, nil, ErrAddressLineInvalid); err != nil {
		return AddressChanged{}, failure.Field("line2", err)
	}
	a.Country = strings.ToUpper(strings.TrimSpace(country))
	if a.Country == "" {
		a.Country = "FR"
	}
	if !isCountry(a.Country) {
		return AddressChanged{}, failure.Field("country", ErrCountryInvalid)
	}
	if a.PostalCode, err = normalizePostalCode(postalCode, a.Country); err != nil {
		return AddressChanged{}, failure.Field("postal_code", err)
	}
	if a.City, err = addressText(city, ErrCityRequired, ErrCityInvalid); err != nil {
		return AddressChanged{}, failure.Field("city", err)
	}
	y, m, d := today.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	from := day
	if s := strings.TrimSpace(effectiveFrom); s != "" {
		if from, err = time.Parse("2006-01-02", s); err != nil {
			return AddressChanged{}, failure.Field("effective_from", ErrEffectiveFromInvalid)
		}
	}
	if from.Before(day.AddDate(-1, 0, 0)) {
		return AddressChanged{}, failure.Field("effective_from", ErrEffectiveFromTooEarly)
	}
	a.EffectiveFrom = from.Format("2006-01-02")
	return a, nil
}

// addressText trims and collapses s and checks it: required (unless missing is nil), valid UTF-8, no control
// characters, at most MaxAddressLength characters.
func addressText(s string, missing, invalid error) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalid
	}
	clean := strings.Join(strings.Fields(s), " ")
	if clean == "" {
		if missing != nil {
			return "", missing
		}
		return "", nil
	}
	if utf8.RuneCountInString(clean) > MaxAddressLength {
		return "", invalid
	}
	for _, r := range clean {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return "", invalid
		}
	}
	return clean, nil
}

func normalizePostalCode(s, country string) (string, error) {
	if frenchPostal[country] {
		d := strings.NewReplacer(" ", "", "\u00a0", "").Replace(strings.TrimSpace(s))
		if len(d) != 5 || strings.Trim(d, "0123456789") != "" {
			return "", ErrPostalCodeInvalid
		}
		return d, nil
	}
	p := strings.ToUpper(strings.Join(strings.Fields(s), " "))
	if len(p) > 10 {
		return "", ErrForeignPostalCodeInvalid
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '-') {
			return "", ErrForeignPostalCodeInvalid
		}
	}
	return p, nil
}

// countries is ISO 3166-1 alpha-2 (the 249 officially assigned codes).
const countries = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT " +
	"BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ " +
	"FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS " +
	"IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN " +
	"MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW " +
	"PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN " +
	"TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"

func isCountry(c string) bool {
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return false
	}
	i := strings.Index(countries, c)
	return i >= 0 && i%3 == 0
}
