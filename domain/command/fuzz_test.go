package command_test

import (
	"testing"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/failure"
)

// FuzzRegisterInput checks the validation of the registration form: it never panics, every refusal is an Invalid
// error about a named field with a code, and an accepted form is normalised idempotently (normalising the
// normalised form gives it back).
func FuzzRegisterInput(f *testing.F) {
	f.Add("1 85 03 75 115 042", "16", "Dupont", "Jean", "1985-03-12", "jean.dupont@example.fr", "06 12 34 56 78", true)
	f.Add("292112a004017", "59", " le  Gall ", "Léa", "1992-11-04", "Lea@Example.FR", "", true)
	f.Add("1 88 09 99 350 045 24", "", "Martin", "Paul", "1988-09-01", "p@example.fr", "+33 (0)7 00 00 00 01", true)
	f.Add("1850375115053", "5", "D'Artagnan", "Noe\u0308l", "1985-03-30", "m@example.gp", "0690 12 34 56", true)
	f.Add("2582099109011", "57", "Nguyen", "Thi", "1958-08-15", "t@x.fr", "0033612345678", false)
	f.Add("", "", "", "", "", "", "", false)
	f.Add("\xff", "\x00", "\u00a0", "-'", "0000-00-00", "<a@b.c>", "++", true)
	f.Fuzz(func(t *testing.T, nirText, key, last, first, birth, email, phone string, terms bool) {
		in := command.RegisterInput{NIR: nirText, Key: key, LastName: last, FirstName: first, BirthDate: birth,
			Email: email, MobilePhone: phone, TermsAccepted: terms}
		out, err := in.Normalize(memberToday)
		if err != nil {
			if failure.KindOf(err) != failure.Invalid || failure.FieldOf(err) == "" || failure.CodeOf(err) == "invalid" {
				t.Fatalf("refusal %v: kind %s, field %q, code %s", err, failure.KindOf(err), failure.FieldOf(err), failure.CodeOf(err))
			}
			if out != (command.RegisterInput{}) {
				t.Fatalf("refusal with a result: %+v", out)
			}
			return
		}
		again, err := out.Normalize(memberToday)
		if err != nil {
			t.Fatalf("normalised form %+v refused: %v", out, err)
		}
		if again != out {
			t.Fatalf("not idempotent:\n%+v\n%+v", out, again)
		}
		if len(out.NIR) != 13 || len(out.Key) != 2 || !out.TermsAccepted {
			t.Fatalf("normalised form: %+v", out)
		}
	})
}
