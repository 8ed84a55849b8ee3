package command_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
	"github.com/msa-dossier/dossier/domain/nir"
)

var memberToday = time.Date(2026, time.November, 25, 9, 30, 0, 0, time.UTC)

func TestMemberRegisterInputNormalize(t *testing.T) {
	got, err := memberJean.Normalize(memberToday)
	if err != nil {
		t.Fatal(err)
	}
	want := command.RegisterInput{NIR: "1850375115042", Key: "16", LastName: "Dupont", FirstName: "Jean", BirthDate: "1985-03-12",
		Email: "jean.dupont@example.fr", MobilePhone: "+33612345678", TermsAccepted: true}
	if got != want {
		t.Fatalf("got %+v", got)
	}
	tests := []struct {
		name string
		in   command.RegisterInput
		want command.RegisterInput
	}{
		{
			name: "Corsica, lower case, a one-digit key, spaces everywhere, no phone",
			in: command.RegisterInput{NIR: "2 92 11 2a 004 017", Key: " 59 ", LastName: "  le   Gall ", FirstName: "Léa",
				BirthDate: " 1992-11-04", Email: " Lea@Example.FR ", TermsAccepted: true},
			want: command.RegisterInput{NIR: "292112A004017", Key: "59", LastName: "le Gall", FirstName: "Léa",
				BirthDate: "1992-11-04", Email: "Lea@example.fr", TermsAccepted: true},
		},
		{
			name: "the whole 15 characters in the NIR field",
			in: command.RegisterInput{NIR: "1 88 09 99 350 045 24", LastName: "Martin", FirstName: "Paul", BirthDate: "1988-09-01",
				Email: "p@example.fr", MobilePhone: "0033 7 00 00 00 01", TermsAccepted: true},
			want: command.RegisterInput{NIR: "1880999350045", Key: "24", LastName: "Martin", FirstName: "Paul", BirthDate: "1988-09-01",
				Email: "p@example.fr", MobilePhone: "+33700000001", TermsAccepted: true},
		},
		{
			name: "a one-digit key, an overseas mobile",
			in: command.RegisterInput{NIR: "1850375115053", Key: "5", LastName: "Océane", FirstName: "Marie-Hélène", BirthDate: "1985-03-30",
				Email: "m@example.gp", MobilePhone: "0690 12 34 56", TermsAccepted: true},
			want: command.RegisterInput{NIR: "1850375115053", Key: "05", LastName: "Océane", FirstName: "Marie-Hélène", BirthDate: "1985-03-30",
				Email: "m@example.gp", MobilePhone: "+590690123456", TermsAccepted: true},
		},
		{
			name: "a fictitious month takes any birth month of the year",
			in: command.RegisterInput{NIR: "2582099109011", Key: "57", LastName: "Nguyen", FirstName: "Thi", BirthDate: "1958-08-15",
				Email: "t@example.fr", TermsAccepted: true},
			want: command.RegisterInput{NIR: "2582099109011", Key: "57", LastName: "Nguyen", FirstName: "Thi", BirthDate: "1958-08-15",
				Email: "t@example.fr", TermsAccepted: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Normalize(memberToday)
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tt.want)
			}
		})
	}
	// 15 characters in the NIR field with a wrong key: the key is at fault.
	_, err = command.RegisterInput{NIR: "185037511504217", LastName: "Dupont", FirstName: "Jean", BirthDate: "1985-03-12",
		Email: "j@example.fr", TermsAccepted: true}.Normalize(memberToday)
	if !errors.Is(err, nir.ErrKey) || failure.FieldOf(err) != "key" {
		t.Fatalf("err = %v (field %q)", err, failure.FieldOf(err))
	}
	// The Corsica key trap: the key of 292112A004017 is computed with 2A read as 19 (59); read as 20 it gives 32.
	_, err = command.RegisterInput{NIR: "292112A004017", Key: "32", LastName: "Le Gall", FirstName: "Léa", BirthDate: "1992-11-04",
		Email: "l@example.fr", TermsAccepted: true}.Normalize(memberToday)
	if !errors.Is(err, nir.ErrKey) {
		t.Fatalf("err = %v", err)
	}
}

func TestMemberMessages(t *testing.T) {
	for _, code := range []string{
		"registration.not_found", "registration.locked", "registration.completed", "registration.already_registered",
		"registration.key_required", "registration.last_name_required", "registration.last_name_invalid",
		"registration.first_name_required", "registration.first_name_invalid", "birth_date.invalid",
		"birth_date.in_future", "birth_date.too_old", "terms.not_accepted", "email.required", "email.invalid",
		"phone.invalid", "address.line1_required", "address.line_invalid", "address.postal_code_invalid",
		"address.foreign_postal_code_invalid", "address.city_required", "address.city_invalid", "address.country_invalid",
		"address.effective_from_invalid", "address.effective_from_too_early", "member.not_found",
		"auth.invalid_credentials", "auth.locked", "email.unchanged", "email_change.none", "password.unchanged",
		"password_reset.not_found", "password_reset.completed",
	} {
		msg, _ := messages.FR(code)
		if !utf8.ValidString(msg) || len(msg) < 15 || strings.HasPrefix(msg, code) {
			t.Errorf("no message for %s: %q", code, msg)
		}
	}
}

func TestMemberCodes(t *testing.T) {
	keys, err := keyedhash.FromHex("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	if err != nil {
		t.Fatal(err)
	}
	other, err := keyedhash.FromHex("3b7e1f0a9c2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f")
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.MustParse("0d1f6f43-54ae-4d39-8d4e-6f6f1c0b2a11")
	a1 := command.ActivationCode(keys, id, 1)
	if len(a1) != credential.CodeLength || strings.Trim(a1, "0123456789") != "" {
		t.Fatalf("code %q", a1)
	}
	if command.ActivationCode(keys, id, 1) != a1 {
		t.Fatal("codes are not deterministic")
	}
	others := []string{
		command.ActivationCode(keys, id, 2),
		command.ActivationCode(keys, uuid.MustParse("7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11"), 1),
		command.EmailChangeCode(keys, id, 1),
		command.ResetCode(keys, id, 1),
		command.ActivationCode(other, id, 1),
	}
	for i, o := range others {
		if o == a1 {
			t.Fatalf("code %d equals the first (subject, purpose, sequence and key must all matter)", i)
		}
	}
	if _, err := credential.NormalizeCode(a1); err != nil {
		t.Fatalf("a derived code does not normalise: %v", err)
	}
	// Codes spread over the whole space: over 2000 sequences, every leading digit shows up.
	seen := map[byte]bool{}
	for seq := 1; seq <= 2000; seq++ {
		seen[command.ActivationCode(keys, id, seq)[0]] = true
	}
	if len(seen) != 10 {
		t.Fatalf("leading digits seen: %d", len(seen))
	}
}
