package command

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
	"github.com/msa-dossier/dossier/domain/registration"
)

// RegisterInput is the registration form as typed.
type RegisterInput struct {
	NIR, Key, LastName, FirstName, BirthDate, Email, MobilePhone string
	TermsAccepted                                                bool
}

// Normalize validates the form as Register does, at business time now, and returns it normalised: the NIR as its
// 13-character body and the key as 2 digits, names trimmed with spaces collapsed, the birth date YYYY-MM-DD, the
// email with its domain in lower case, the phone in E.164 ("" if none). Normalising a normalised form gives it
// back unchanged. The first problem, in the order of the form, is returned wrapped with failure.Field:
//
//	"nir"            nir.invalid_login_length, nir.invalid_format, nir.invalid_sex, nir.provisional,
//	                 nir.invalid_month, nir.invalid_department, nir.invalid_order (nir.invalid_length when a
//	                 15-character number is typed without a separate key)
//	"key"            registration.key_required, nir.invalid_key
//	"last_name"      registration.last_name_required, registration.last_name_invalid
//	"first_name"     registration.first_name_required, registration.first_name_invalid
//	"birth_date"     birth_date.invalid, birth_date.in_future, birth_date.too_old, nir.birth_year_mismatch,
//	                 nir.birth_month_mismatch
//	"email"          email.required, email.invalid
//	"mobile_phone"   phone.invalid
//	"terms_accepted" terms.not_accepted
//
// All are failure.Invalid.
func (in RegisterInput) Normalize(now time.Time) (RegisterInput, error) {
	a, _, _, err := in.applicant(now)
	if err != nil {
		return RegisterInput{}, err
	}
	return RegisterInput{NIR: a.NIR, Key: fmt.Sprintf("%02d", a.Key), LastName: a.LastName, FirstName: a.FirstName,
		BirthDate: a.BirthDate, Email: a.Email, MobilePhone: a.MobilePhone, TermsAccepted: true}, nil
}

// applicant validates the form into the Started event (without the terms version) and returns the parsed NIR and
// birth date for the reference check.
func (in RegisterInput) applicant(now time.Time) (registration.Started, nir.NIR, time.Time, error) {
	fail := func(field string, err error) (registration.Started, nir.NIR, time.Time, error) {
		return registration.Started{}, nir.NIR{}, time.Time{}, failure.Field(field, err)
	}
	n, field, err := parseNIRWithKey(in.NIR, in.Key)
	if err != nil {
		return fail(field, err)
	}
	last, err := registration.NormalizeLastName(in.LastName)
	if err != nil {
		return fail("last_name", err)
	}
	first, err := registration.NormalizeFirstName(in.FirstName)
	if err != nil {
		return fail("first_name", err)
	}
	birth, err := registration.ParseBirthDate(in.BirthDate, now)
	if err != nil {
		return fail("birth_date", err)
	}
	if err := n.Check(birth, nir.SexUnknown); err != nil {
		return fail("birth_date", err)
	}
	email, err := member.NormalizeEmail(in.Email)
	if err != nil {
		return fail("email", err)
	}
	phone, err := member.NormalizeMobilePhone(in.MobilePhone)
	if err != nil {
		return fail("mobile_phone", err)
	}
	if !in.TermsAccepted {
		return fail("terms_accepted", registration.ErrTermsNotAccepted)
	}
	return registration.Started{
		NIR:         n.Body(),
		Key:         n.Key(),
		LastName:    last,
		FirstName:   first,
		BirthDate:   birth.Format(registration.DateLayout),
		Email:       email,
		MobilePhone: phone,
	}, n, birth, nil
}

// parseNIRWithKey parses the 13-character NIR and its key typed apart, and says which field a problem is about.
// A key of one digit is read with a leading zero. When the key is empty and the NIR field holds the whole
// 15-character number, that is accepted too.
func parseNIRWithKey(body, key string) (nir.NIR, string, error) {
	key = strings.Join(strings.Fields(key), "")
	n, err := nir.ParseLogin(body)
	if key == "" {
		switch {
		case err == nil:
			return nir.NIR{}, "key", registration.ErrKeyRequired
		case errors.Is(err, nir.ErrLoginLength):
			full, err15 := nir.Parse(body)
			switch {
			case err15 == nil:
				return full, "", nil
			case errors.Is(err15, nir.ErrLength):
				return nir.NIR{}, "nir", err // neither 13 nor 15 characters: say 13, the field's length
			case errors.Is(err15, nir.ErrKey):
				return nir.NIR{}, "key", err15
			}
			return nir.NIR{}, "nir", err15
		}
		return nir.NIR{}, "nir", err
	}
	if err != nil {
		return nir.NIR{}, "nir", err
	}
	k, kerr := strconv.Atoi(key)
	if kerr != nil || len(key) > 2 || k < 1 || k > 97 || key[0] == '+' || key[0] == '-' {
		return nir.NIR{}, "key", nir.ErrKey
	}
	full, err := nir.Parse(fmt.Sprintf("%s%02d", n.Body(), k))
	if err != nil {
		return nir.NIR{}, "key", nir.ErrKey
	}
	return full, "", nil
}
