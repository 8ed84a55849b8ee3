package conversation

import "github.com/msa-dossier/dossier/domain/failure"

// The errors of conversations, each with a stable code; domain/messages holds the French sentence.
var (
	ErrThemeUnknown   = failure.New(failure.Invalid, "conversation.theme_unknown", "unknown message theme")
	ErrSubjectInvalid = failure.New(failure.Invalid, "conversation.subject_invalid",
		"subject empty, too long or with control characters")
	ErrBodyInvalid = failure.New(failure.Invalid, "conversation.body_invalid",
		"message empty, too long or with control characters")
	ErrRequestUnknown = failure.New(failure.Invalid, "conversation.request_unknown",
		"the request named is not one of the member's")
	ErrNotFound       = failure.New(failure.NotFound, "conversation.not_found", "conversation not found")
	ErrClosed         = failure.New(failure.Rule, "conversation.closed", "the conversation is closed")
	ErrAlreadyClaimed = failure.New(failure.Conflict, "conversation.already_claimed",
		"another staff member has claimed the conversation")
	ErrNotClaimed = failure.New(failure.Rule, "conversation.not_claimed",
		"claim the conversation before replying to it or closing it")
	ErrNotYours = failure.New(failure.Forbidden, "conversation.not_yours",
		"another staff member holds the conversation: only they or a supervisor may release it")
)

var sentinels = []*failure.Error{ErrThemeUnknown, ErrSubjectInvalid, ErrBodyInvalid, ErrRequestUnknown, ErrNotFound,
	ErrClosed, ErrAlreadyClaimed, ErrNotClaimed, ErrNotYours}

// Errors returns every sentinel of the package.
func Errors() []*failure.Error { return append([]*failure.Error(nil), sentinels...) }
