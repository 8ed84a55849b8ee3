package servicerequest

import "github.com/msa-dossier/dossier/domain/failure"

// The errors of service request decisions, each with a stable code and, as message, the French sentence for the
// member or the staff member.
var (
	// ErrNotFound: no request has this id, or it is not the calling member's (members never learn that another
	// member's request exists).
	ErrNotFound = failure.New(failure.NotFound, "servicerequest.not_found", "Cette demande est introuvable.")
	// ErrAlreadySubmitted: Submit on a stream that already holds another request (another command id).
	ErrAlreadySubmitted = failure.New(failure.Conflict, "servicerequest.already_submitted",
		"Cette demande a déjà été enregistrée.")
	// ErrFormInvalid: the form is not a JSON object.
	ErrFormInvalid = failure.New(failure.Invalid, "servicerequest.form_invalid",
		"Le formulaire de la demande est illisible. Vérifiez vos réponses et envoyez-le à nouveau.")
	// ErrClosed: the case is closed (decided, withdrawn or lapsed); only notes are still accepted.
	ErrClosed = failure.New(failure.Rule, "servicerequest.closed",
		"Cette demande est clôturée : elle ne peut plus être modifiée.")
	// ErrNotClaimed: the action needs a caseworker in charge of the case, and nobody is.
	ErrNotClaimed = failure.New(failure.Rule, "servicerequest.not_claimed",
		"Ce dossier n'est pris en charge par aucun conseiller. Prenez-le en charge d'abord.")
	// ErrAlreadyClaimed: another caseworker has the case.
	ErrAlreadyClaimed = failure.New(failure.Conflict, "servicerequest.already_claimed",
		"Ce dossier est déjà pris en charge par un autre conseiller.")
	// ErrNotYours: the case is claimed by another caseworker than the one acting.
	ErrNotYours = failure.New(failure.Forbidden, "servicerequest.not_yours",
		"Ce dossier est pris en charge par un autre conseiller : seul celui-ci peut agir.")
	// ErrAwaitingInformation: information was requested and not yet received (no second request, no decision).
	ErrAwaitingInformation = failure.New(failure.Rule, "servicerequest.awaiting_information",
		"Des informations ont été demandées à l'adhérent et sont toujours attendues.")
	// ErrNotAwaitingInformation: an answer (or a lapse) while no information is awaited.
	ErrNotAwaitingInformation = failure.New(failure.Rule, "servicerequest.not_awaiting_information",
		"Aucune information complémentaire n'est attendue pour cette demande.")
	// ErrInformationItemsInvalid: a request for information without items, or with an empty or too long one.
	ErrInformationItemsInvalid = failure.New(failure.Invalid, "servicerequest.information_items_invalid",
		"Indiquez précisément chaque information ou pièce demandée (20 au plus, 500 caractères chacune).")
	// ErrInformationDeadlineInvalid: a deadline that is not in the future.
	ErrInformationDeadlineInvalid = failure.New(failure.Invalid, "servicerequest.information_deadline_invalid",
		"La date limite de réponse doit être postérieure à aujourd'hui.")
	// ErrInformationAnswerInvalid: an answer that says nothing.
	ErrInformationAnswerInvalid = failure.New(failure.Invalid, "servicerequest.information_answer_invalid",
		"Votre réponse est vide. Indiquez les informations demandées.")
	// ErrInformationLate: an answer after the deadline (the request lapses).
	ErrInformationLate = failure.New(failure.Rule, "servicerequest.information_late",
		"Le délai de réponse est dépassé : votre demande va être clôturée. Vous pouvez déposer une nouvelle demande.")
	// ErrDeadlineNotReached: a lapse recorded before the deadline (a reaction fired for an earlier request).
	ErrDeadlineNotReached = failure.New(failure.Rule, "servicerequest.deadline_not_reached",
		"Le délai de réponse de l'adhérent n'est pas encore écoulé.")
	// ErrDecisionInvalid: a decision other than approved or rejected, or without its catalog version or rule.
	ErrDecisionInvalid = failure.New(failure.Invalid, "servicerequest.decision_invalid",
		"La décision doit être « accordée » ou « refusée » et indiquer la règle appliquée.")
	// ErrReasonRequired: a rejection without its reasons (CRPA L211-2).
	ErrReasonRequired = failure.New(failure.Invalid, "servicerequest.reason_required",
		"Un refus doit être motivé : indiquez le motif de la décision.")
	// ErrAssigneeInvalid: a reassignment to nobody.
	ErrAssigneeInvalid = failure.New(failure.Invalid, "servicerequest.assignee_invalid",
		"Choisissez le conseiller à qui confier ce dossier.")
	// ErrNoteInvalid: an empty note or one longer than MaxNoteLength.
	ErrNoteInvalid = failure.New(failure.Invalid, "servicerequest.note_invalid",
		"La note est vide ou trop longue (4 000 caractères au plus).")
)

var sentinels = []*failure.Error{
	ErrNotFound, ErrAlreadySubmitted, ErrFormInvalid, ErrClosed, ErrNotClaimed, ErrAlreadyClaimed, ErrNotYours,
	ErrAwaitingInformation, ErrNotAwaitingInformation, ErrInformationItemsInvalid, ErrInformationDeadlineInvalid,
	ErrInformationAnswerInvalid, ErrInformationLate, ErrDeadlineNotReached, ErrDecisionInvalid, ErrReasonRequired,
	ErrAssigneeInvalid, ErrNoteInvalid,
}

// Errors returns every sentinel of the package, for the table of messages.
func Errors() []*failure.Error {
	out := make([]*failure.Error, len(sentinels))
	copy(out, sentinels)
	return out
}

// Messages returns the French sentence of every error of Errors, by stable code, for the HTTP layer's table.
func Messages() map[string]string {
	m := make(map[string]string, len(sentinels))
	for _, e := range sentinels {
		m[e.Code] = e.Err.Error()
	}
	return m
}
