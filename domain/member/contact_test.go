package member_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/messages"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"jean.dupont@example.fr", "jean.dupont@example.fr", nil},
		{"  Jean.Dupont@Example.FR ", "Jean.Dupont@example.fr", nil},
		{"jean+msa@mail.example.co.uk", "jean+msa@mail.example.co.uk", nil},
		{"a@b-c.fr", "a@b-c.fr", nil},
		{"", "", member.ErrEmailRequired},
		{"   ", "", member.ErrEmailRequired},
		{"jean", "", member.ErrEmailInvalid},
		{"jean@localhost", "", member.ErrEmailInvalid},
		{"jean@example.", "", member.ErrEmailInvalid},
		{"jean@.example.fr", "", member.ErrEmailInvalid},
		{"jean@-example.fr", "", member.ErrEmailInvalid},
		{"jean@example.123", "", member.ErrEmailInvalid},
		{"jean@[192.0.2.1]", "", member.ErrEmailInvalid},
		{"Jean <jean@example.fr>", "", member.ErrEmailInvalid},
		{"<jean@example.fr>", "", member.ErrEmailInvalid},
		{`"jean dupont"@example.fr`, "", member.ErrEmailInvalid},
		{"jean dupont@example.fr", "", member.ErrEmailInvalid},
		{"jean@exa_mple.fr", "", member.ErrEmailInvalid},
		{"élodie@example.fr", "", member.ErrEmailInvalid},
		{"jean..dupont@example.fr", "", member.ErrEmailInvalid},
		{"a@b@example.fr", "", member.ErrEmailInvalid},
		{strings.Repeat("a", 65) + "@example.fr", "", member.ErrEmailInvalid},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 60) + ".fr", "", member.ErrEmailInvalid},                                                                                                           // 256 characters
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".fr", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".fr", nil}, // 254 characters
	}
	for _, tt := range tests {
		got, err := member.NormalizeEmail(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
		if err == nil {
			if again, err := member.NormalizeEmail(got); err != nil || again != got {
				t.Errorf("NormalizeEmail not idempotent on %q: %q, %v", got, again, err)
			}
		}
	}
}

func TestNormalizeMobilePhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"06 12 34 56 78", "+33612345678"},
		{"0612345678", "+33612345678"},
		{"07.12.34.56.78", "+33712345678"},
		{"07-12-34-56-78", "+33712345678"},
		{"+33 6 12 34 56 78", "+33612345678"},
		{"+33612345678", "+33612345678"},
		{"+33 (0)6 12 34 56 78", "+33612345678"},
		{"0033 6 12 34 56 78", "+33612345678"},
		{"0033612345678", "+33612345678"},
		{"\u00a006\u00a012 34 56 78 ", "+33612345678"},
		{"", ""},
		{"   ", ""},
		{"06 90 12 34 56", "+590690123456"}, // Guadeloupe
		{"0692 12 34 56", "+262692123456"},  // La Réunion
		{"0639 12 34 56", "+262639123456"},  // Mayotte
		{"0696123456", "+596696123456"},     // Martinique
		{"0694123456", "+594694123456"},     // Guyane
		{"+590 690 12 34 56", "+590690123456"},
		{"+262 692 12 34 56", "+262692123456"},
	}
	for _, tt := range tests {
		got, err := member.NormalizeMobilePhone(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeMobilePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if again, err := member.NormalizeMobilePhone(got); err != nil || again != got {
			t.Errorf("NormalizeMobilePhone not idempotent on %q: %q, %v", got, again, err)
		}
	}
	for _, bad := range []string{
		"01 23 45 67 89",    // landline
		"09 12 34 56 78",    // VoIP, not mobile
		"06 12 34 56 7",     // 9 digits
		"06 12 34 56 789",   // 11 digits
		"+32 470 12 34 56",  // Belgian mobile
		"+44 7700 900123",   // British mobile
		"+590 612 34 56 78", // Guadeloupe code with a metropolitan number
		"+262 690 12 34 56", // Réunion code with a Guadeloupe prefix
		"06 12 34 56 7a",
		"+33 6 12 34 56 78 ext 2",
		"6 12 34 56 78",
		"++33612345678",
		"06+12345678",
		"٠٦١٢٣٤٥٦٧٨", // Arabic-Indic digits
	} {
		if got, err := member.NormalizeMobilePhone(bad); !errors.Is(err, member.ErrPhoneInvalid) {
			t.Errorf("NormalizeMobilePhone(%q) = %q, %v; want phone.invalid", bad, got, err)
		}
	}
}

func TestNewAddress(t *testing.T) {
	today := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	type in struct{ line1, line2, postal, city, country, from string }
	tests := []struct {
		name  string
		in    in
		want  member.AddressChanged
		field string
		err   error
	}{
		{
			name: "a French address, country and date by default",
			in:   in{line1: " 12  rue des Lilas ", postal: "75 015", city: "Paris"},
			want: member.AddressChanged{Line1: "12 rue des Lilas", PostalCode: "75015", City: "Paris", Country: "FR", EffectiveFrom: "2026-11-02"},
		},
		{
			name: "with a second line and a date in the past year",
			in:   in{line1: "Lieu-dit Les Granges", line2: "Bâtiment B", postal: "12000", city: "Rodez", country: "fr", from: "2025-11-02"},
			want: member.AddressChanged{Line1: "Lieu-dit Les Granges", Line2: "Bâtiment B", PostalCode: "12000", City: "Rodez", Country: "FR", EffectiveFrom: "2025-11-02"},
		},
		{
			name: "a future date",
			in:   in{line1: "1 place de la Mairie", postal: "97100", city: "Basse-Terre", country: "GP", from: "2027-01-01"},
			want: member.AddressChanged{Line1: "1 place de la Mairie", PostalCode: "97100", City: "Basse-Terre", Country: "GP", EffectiveFrom: "2027-01-01"},
		},
		{
			name: "abroad, with a foreign postal code",
			in:   in{line1: "10 Downing Street", postal: "sw1a 2aa", city: "London", country: "GB"},
			want: member.AddressChanged{Line1: "10 Downing Street", PostalCode: "SW1A 2AA", City: "London", Country: "GB", EffectiveFrom: "2026-11-02"},
		},
		{
			name: "abroad, without postal code",
			in:   in{line1: "1 Main Street", city: "Dublin", country: "IE"},
			want: member.AddressChanged{Line1: "1 Main Street", City: "Dublin", Country: "IE", EffectiveFrom: "2026-11-02"},
		},
		{name: "no line 1", in: in{postal: "75015", city: "Paris"}, field: "line1", err: member.ErrAddressLine1Required},
		{name: "a line too long", in: in{line1: strings.Repeat("x", 101), postal: "75015", city: "Paris"}, field: "line1", err: member.ErrAddressLineInvalid},
		{name: "a control character", in: in{line1: "1 rue", line2: "a\x00b", postal: "75015", city: "Paris"}, field: "line2", err: member.ErrAddressLineInvalid},
		{name: "a French postal code of 4 digits", in: in{line1: "1 rue", postal: "7501", city: "Paris"}, field: "postal_code", err: member.ErrPostalCodeInvalid},
		{name: "a French postal code with a letter", in: in{line1: "1 rue", postal: "2A004", city: "Ajaccio"}, field: "postal_code", err: member.ErrPostalCodeInvalid},
		{name: "no French postal code", in: in{line1: "1 rue", city: "Paris"}, field: "postal_code", err: member.ErrPostalCodeInvalid},
		{name: "a foreign postal code with signs", in: in{line1: "1 rue", postal: "1000/2", city: "Bruxelles", country: "BE"}, field: "postal_code", err: member.ErrForeignPostalCodeInvalid},
		{name: "no city", in: in{line1: "1 rue", postal: "75015"}, field: "city", err: member.ErrCityRequired},
		{name: "an unknown country", in: in{line1: "1 rue", postal: "75015", city: "Paris", country: "XX"}, field: "country", err: member.ErrCountryInvalid},
		{name: "a country name", in: in{line1: "1 rue", postal: "75015", city: "Paris", country: "France"}, field: "country", err: member.ErrCountryInvalid},
		{name: "a malformed date", in: in{line1: "1 rue", postal: "75015", city: "Paris", from: "02/11/2026"}, field: "effective_from", err: member.ErrEffectiveFromInvalid},
		{name: "more than a year ago", in: in{line1: "1 rue", postal: "75015", city: "Paris", from: "2025-11-01"}, field: "effective_from", err: member.ErrEffectiveFromTooEarly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := member.NewAddress(tt.in.line1, tt.in.line2, tt.in.postal, tt.in.city, tt.in.country, tt.in.from, today)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || failure.FieldOf(err) != tt.field {
					t.Fatalf("err = %v (field %q), want %v on %q", err, failure.FieldOf(err), tt.err, tt.field)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestMemberErrorsHaveCodesAndFrenchMessages(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range append(member.Errors(), member.ContactErrors()...) {
		if e.Code == "" || seen[e.Code] {
			t.Errorf("missing or duplicate code %q", e.Code)
		}
		seen[e.Code] = true
		if msg, _ := messages.FR(e.Code); len(msg) < 15 || !strings.ContainsAny(msg[len(msg)-1:], ".»") {
			t.Errorf("%s: message %q is not a sentence", e.Code, msg)
		}
		if e.Kind == failure.Internal {
			t.Errorf("%s: unclassified", e.Code)
		}
	}
}
