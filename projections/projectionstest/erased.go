package projectionstest

import (
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

// erase is a personal text as it decodes once its subject's key is destroyed: event.ErasedText ("" stays "").
func erase(s string) string {
	if s == "" {
		return ""
	}
	return event.ErasedText
}

// EraseMember returns a member event as it decodes once the member's key is destroyed (for Erased): its personal
// texts (NIR, names, birth date, contact details, address, password hash) read event.ErasedText, the NIR key 0. A
// hand-built stand-in for the codec's erased decoding, which the tests of the projections cannot use yet.
func EraseMember(v any) any {
	switch ev := v.(type) {
	case member.Registered:
		return member.Registered{RegistrationID: ev.RegistrationID, NIR: erase(ev.NIR), LastName: erase(ev.LastName),
			FirstName: erase(ev.FirstName), BirthDate: erase(ev.BirthDate), Email: erase(ev.Email),
			MobilePhone: erase(ev.MobilePhone)}
	case member.PasswordSet:
		ev.Hash = erase(ev.Hash)
		return ev
	case member.PasswordRehashed:
		return member.PasswordRehashed{Hash: erase(ev.Hash)}
	case member.AddressChanged:
		return member.AddressChanged{Line1: erase(ev.Line1), Line2: erase(ev.Line2), PostalCode: erase(ev.PostalCode),
			City: erase(ev.City), Country: erase(ev.Country), EffectiveFrom: ev.EffectiveFrom}
	case member.PhoneChanged:
		return member.PhoneChanged{MobilePhone: erase(ev.MobilePhone)}
	case member.EmailChangeRequested:
		ev.NewEmail = erase(ev.NewEmail)
		return ev
	case member.EmailChanged:
		return member.EmailChanged{Email: erase(ev.Email)}
	}
	return v
}

// EraseServiceRequest returns a service request event as it decodes once its member's key is destroyed (for
// Erased): the form is gone (nil), the texts written by the member or by staff about them (items asked for, answer,
// reasons, notes) read event.ErasedText.
func EraseServiceRequest(v any) any {
	switch ev := v.(type) {
	case sr.Submitted:
		ev.Form = nil
		return ev
	case sr.InformationRequested:
		items := make([]string, len(ev.Items))
		for i, it := range ev.Items {
			items[i] = erase(it)
		}
		ev.Items = items
		return ev
	case sr.InformationReceived:
		return sr.InformationReceived{What: erase(ev.What)}
	case sr.Decided:
		ev.Reason = erase(ev.Reason)
		return ev
	case sr.Withdrawn:
		ev.Reason = erase(ev.Reason)
		return ev
	case sr.NoteAdded:
		ev.Text = erase(ev.Text)
		return ev
	}
	return v
}
