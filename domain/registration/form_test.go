package registration_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
	"github.com/msa-dossier/dossier/domain/registration"
)

func TestNormalizeNames(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"  Dupont ", "Dupont", nil},
		{"Le  Gall", "Le Gall", nil},
		{"D'Artagnan", "D'Artagnan", nil},
		{"D\u2019Artagnan", "D\u2019Artagnan", nil},
		{"Jean-Pierre\u00a0Marie", "Jean-Pierre Marie", nil},
		{"Éloïse", "Éloïse", nil},
		{"Noe\u0308l", "Noe\u0308l", nil}, // decomposed accent
		{"Ægir Œdipe", "Ægir Œdipe", nil},
		{"", "", registration.ErrLastNameRequired},
		{" \t ", "", registration.ErrLastNameRequired},
		{"Dupont2", "", registration.ErrLastNameInvalid},
		{"Du.pont", "", registration.ErrLastNameInvalid},
		{"<script>", "", registration.ErrLastNameInvalid},
		{"- '", "", registration.ErrLastNameInvalid},
		{"\xff\xfe", "", registration.ErrLastNameInvalid},
		{strings.Repeat("a", 100), strings.Repeat("a", 100), nil},
		{strings.Repeat("é", 101), "", registration.ErrLastNameInvalid},
	}
	for _, tt := range tests {
		got, err := registration.NormalizeLastName(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("NormalizeLastName(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	if _, err := registration.NormalizeFirstName(""); !errors.Is(err, registration.ErrFirstNameRequired) {
		t.Errorf("first name required: %v", err)
	}
	if _, err := registration.NormalizeFirstName("J3an"); !errors.Is(err, registration.ErrFirstNameInvalid) {
		t.Errorf("first name invalid: %v", err)
	}
}

func TestParseBirthDate(t *testing.T) {
	today := time.Date(2026, 11, 2, 23, 30, 0, 0, time.UTC)
	tests := []struct {
		in  string
		err error
	}{
		{"1985-03-12", nil},
		{" 1985-03-12 ", nil},
		{"2026-11-02", nil},
		{"1900-01-01", nil},
		{"2026-11-03", registration.ErrBirthDateFuture},
		{"1899-12-31", registration.ErrBirthDateTooOld},
		{"12/03/1985", registration.ErrBirthDateInvalid},
		{"1985-02-30", registration.ErrBirthDateInvalid},
		{"", registration.ErrBirthDateInvalid},
	}
	for _, tt := range tests {
		d, err := registration.ParseBirthDate(tt.in, today)
		if !errors.Is(err, tt.err) {
			t.Errorf("ParseBirthDate(%q) err = %v, want %v", tt.in, err, tt.err)
		}
		if err == nil && d.Format(registration.DateLayout) != strings.TrimSpace(tt.in) {
			t.Errorf("ParseBirthDate(%q) = %v", tt.in, d)
		}
	}
}

func TestFormErrorsHaveCodesAndFrenchMessages(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range append(registration.FormErrors(), registration.Errors()...) {
		if e.Code == "" || seen[e.Code] {
			t.Errorf("missing or duplicate code %q", e.Code)
		}
		seen[e.Code] = true
		if msg, _ := messages.FR(e.Code); len(msg) < 15 || !strings.HasSuffix(msg, ".") {
			t.Errorf("%s: message %q is not a sentence", e.Code, msg)
		}
		if e.Kind == failure.Internal {
			t.Errorf("%s: unclassified", e.Code)
		}
	}
}
