package command

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/credential"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
)

// AddressInput is a postal address as typed, with the date it takes effect (YYYY-MM-DD; today when empty).
type AddressInput struct {
	Line1, Line2, PostalCode, City, Country, EffectiveFrom string
}

// ChangeAddress records the member's new postal address (AddressChanged; nothing when it is the current one).
// Errors, with their field (member.NewAddress): "line1" (address.line1_required, address.line_invalid), "line2"
// (address.line_invalid), "postal_code" (address.postal_code_invalid: 5 digits in France and the territories
// using French postal codes; address.foreign_postal_code_invalid elsewhere), "city" (address.city_required,
// address.city_invalid), "country" (address.country_invalid: ISO 3166-1 alpha-2, FR by default),
// "effective_from" (address.effective_from_invalid, address.effective_from_too_early: more than a year ago), all
// Invalid; member.not_found (NotFound).
func (h *Members) ChangeAddress(ctx context.Context, m Meta, memberID uuid.UUID, in AddressInput) (Result, error) {
	const op = "command.ChangeAddress"
	now := h.clock().UTC()
	a, err := member.NewAddress(in.Line1, in.Line2, in.PostalCode, in.City, in.Country, in.EffectiveFrom, now)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	commit, err := h.onMember(ctx, m, memberID, now, func(mm *member.Member) error {
		return mm.ChangeAddress(a, now)
	}, nil)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// ChangePhone records the member's new mobile phone, or its removal when mobilePhone is empty (PhoneChanged;
// nothing when it is the current one). Errors: "mobile_phone": phone.invalid (Invalid: a French mobile, see
// member.NormalizeMobilePhone); member.not_found.
func (h *Members) ChangePhone(ctx context.Context, m Meta, memberID uuid.UUID, mobilePhone string) (Result, error) {
	const op = "command.ChangePhone"
	phone, err := member.NormalizeMobilePhone(mobilePhone)
	if err != nil {
		return Result{}, failure.Op(op, failure.Field("mobile_phone", err))
	}
	now := h.clock().UTC()
	commit, err := h.onMember(ctx, m, memberID, now, func(mm *member.Member) error {
		return mm.ChangePhone(phone, now)
	}, nil)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// RequestEmailChange records a request to change the member's email (EmailChangeRequested with the next
// sequence; the mail reaction sends EmailChangeCode to the new address). The change takes effect only when
// ConfirmEmailChange gets the code. A new request replaces the one waiting, with fresh attempts, but not within
// a minute of it. Errors: "email": email.required, email.invalid (Invalid), email.unchanged (Rule);
// code.resend_too_soon (Rule, a *WaitError); member.not_found.
func (h *Members) RequestEmailChange(ctx context.Context, m Meta, memberID uuid.UUID, newEmail string) (Result, error) {
	const op = "command.RequestEmailChange"
	email, err := member.NormalizeEmail(newEmail)
	if err != nil {
		return Result{}, failure.Op(op, failure.Field("email", err))
	}
	now := h.clock().UTC()
	p := credential.CurrentCodePolicy()
	commit, err := h.onMember(ctx, m, memberID, now, func(mm *member.Member) error {
		err := mm.RequestEmailChange(email, now, p)
		switch {
		case errors.Is(err, credential.ErrCodeResendTooSoon):
			return &WaitError{Err: err, Until: mm.EmailChangeAllowedAt(p)}
		case errors.Is(err, member.ErrEmailUnchanged):
			return failure.Field("email", err)
		}
		return err
	}, nil)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// ConfirmEmailChange checks the code sent to the new address. Right: EmailChanged, the new address is the
// account's. Errors: "code": code.malformed (Invalid), code.wrong (Rule; EmailChangeRejected recorded),
// code.expired (Rule); code.attempts_exhausted (Rule) for the fifth wrong code and any code after it (the request
// is void: ask again); email_change.none (Rule) when no change waits; member.not_found.
func (h *Members) ConfirmEmailChange(ctx context.Context, m Meta, memberID uuid.UUID, code string) (Result, error) {
	const op = "command.ConfirmEmailChange"
	typed, err := credential.NormalizeCode(code)
	if err != nil {
		return Result{}, failure.Op(op, fieldForCode(err))
	}
	now := h.clock().UTC()
	p := credential.CurrentCodePolicy()
	matches := codeMatcher(func(seq int) string { return EmailChangeCode(h.keys, memberID, seq) }, typed)
	commit, err := h.onMember(ctx, m, memberID, now, func(mm *member.Member) error {
		return mm.ConfirmEmailChange(matches, now, p)
	}, func(recorded []any) error {
		for _, e := range recorded {
			if r, ok := e.(member.EmailChangeRejected); ok {
				exhausted, recorded := r.Verdict()
				if !recorded { // recorded before verdicts existed
					exhausted = p.AttemptsExhausted(r.Attempt)
				}
				if exhausted {
					return credential.ErrCodeAttemptsExhausted
				}
				return credential.ErrCodeWrong
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, failure.Op(op, fieldForCode(err))
	}
	return Result{Position: commit.Position}, nil
}
