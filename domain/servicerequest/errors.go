package servicerequest

import "github.com/msa-dossier/dossier/domain/failure"

// The errors of service request decisions, each with a stable code; domain/messages holds the French sentence for
// the member or the staff member.
var (
	// ErrNotFound: no request has this id, or it is not the calling member's (members never learn that another
	// member's request exists).
	ErrNotFound = failure.New(failure.NotFound, "servicerequest.not_found", "service request not found")
	// ErrAlreadySubmitted: Submit on a stream that already holds another request (another command id).
	ErrAlreadySubmitted = failure.New(failure.Conflict, "servicerequest.already_submitted",
		"service request already submitted")
	// ErrFormInvalid: the form is not a JSON object.
	ErrFormInvalid = failure.New(failure.Invalid, "servicerequest.form_invalid", "form is not a JSON object")
	// ErrClosed: the case is closed (decided, withdrawn or lapsed); only notes are still accepted.
	ErrClosed = failure.New(failure.Rule, "servicerequest.closed", "case closed")
	// ErrNotClaimed: the action needs a caseworker in charge of the case, and nobody is.
	ErrNotClaimed = failure.New(failure.Rule, "servicerequest.not_claimed", "case not claimed")
	// ErrAlreadyClaimed: another caseworker has the case.
	ErrAlreadyClaimed = failure.New(failure.Conflict, "servicerequest.already_claimed", "case already claimed")
	// ErrNotYours: the case is claimed by another caseworker than the one acting.
	ErrNotYours = failure.New(failure.Forbidden, "servicerequest.not_yours", "case claimed by another caseworker")
	// ErrAwaitingInformation: information was requested and not yet received (no second request, no decision).
	ErrAwaitingInformation = failure.New(failure.Rule, "servicerequest.awaiting_information",
		"information awaited from the member")
	// ErrNotAwaitingInformation: an answer (or a lapse) while no information is awaited.
	ErrNotAwaitingInformation = failure.New(failure.Rule, "servicerequest.not_awaiting_information",
		"no information awaited")
	// ErrInformationItemsInvalid: a request for information without items, or with an empty or too long one.
	ErrInformationItemsInvalid = failure.New(failure.Invalid, "servicerequest.information_items_invalid",
		"invalid information items")
	// ErrInformationDeadlineInvalid: a deadline that is not in the future.
	ErrInformationDeadlineInvalid = failure.New(failure.Invalid, "servicerequest.information_deadline_invalid",
		"information deadline not in the future")
	// ErrInformationAnswerInvalid: an answer that says nothing.
	ErrInformationAnswerInvalid = failure.New(failure.Invalid, "servicerequest.information_answer_invalid",
		"empty answer")
	// ErrInformationLate: an answer after the deadline (the request lapses).
	ErrInformationLate = failure.New(failure.Rule, "servicerequest.information_late", "answer after the deadline")
	// ErrDeadlineNotReached: a lapse recorded before the deadline (a reaction fired for an earlier request).
	ErrDeadlineNotReached = failure.New(failure.Rule, "servicerequest.deadline_not_reached", "deadline not reached")
	// ErrDecisionInvalid: a decision other than approved or rejected, or without its catalog version or rule.
	ErrDecisionInvalid = failure.New(failure.Invalid, "servicerequest.decision_invalid", "invalid decision")
	// ErrReasonRequired: a rejection without its reasons (CRPA L211-2).
	ErrReasonRequired = failure.New(failure.Invalid, "servicerequest.reason_required", "rejection without reasons")
	// ErrReasonTooLong: a decision's reasons longer than MaxReasonLength.
	ErrReasonTooLong = failure.New(failure.Invalid, "servicerequest.reason_too_long", "decision reasons too long")
	// ErrAssigneeInvalid: a reassignment to nobody.
	ErrAssigneeInvalid = failure.New(failure.Invalid, "servicerequest.assignee_invalid", "no assignee")
	// ErrNoteInvalid: an empty note or one longer than MaxNoteLength.
	ErrNoteInvalid = failure.New(failure.Invalid, "servicerequest.note_invalid", "note empty or too long")
)

var sentinels = []*failure.Error{
	ErrNotFound, ErrAlreadySubmitted, ErrFormInvalid, ErrClosed, ErrNotClaimed, ErrAlreadyClaimed, ErrNotYours,
	ErrAwaitingInformation, ErrNotAwaitingInformation, ErrInformationItemsInvalid, ErrInformationDeadlineInvalid,
	ErrInformationAnswerInvalid, ErrInformationLate, ErrDeadlineNotReached, ErrDecisionInvalid, ErrReasonRequired,
	ErrReasonTooLong, ErrAssigneeInvalid, ErrNoteInvalid,
}

// Errors returns every sentinel of the package.
func Errors() []*failure.Error {
	out := make([]*failure.Error, len(sentinels))
	copy(out, sentinels)
	return out
}
