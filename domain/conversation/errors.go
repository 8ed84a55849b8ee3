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

// The errors of a message with attachments (a multipart request).
var (
	ErrAttachmentCount = failure.New(failure.Invalid, "conversation.attachment_count",
		"too many attachments for one message")
	ErrAttachmentNotFound = failure.New(failure.NotFound, "conversation.attachment_not_found", "attachment not found")
	ErrMalformed          = failure.New(failure.Invalid, "conversation.malformed",
		"malformed multipart message: a part \"message\" (JSON) first, then the parts \"attachments\"")
	ErrTooLarge = failure.New(failure.Invalid, "conversation.too_large",
		"the message and its attachments exceed the size allowed")
	ErrMultipartRequired = failure.New(failure.Invalid, "conversation.multipart_required",
		"multipart/form-data body required")
	ErrAttachmentsUnavailable = failure.New(failure.Unavailable, "conversation.attachments_unavailable",
		"attachments are not configured")
)

var sentinels = []*failure.Error{ErrThemeUnknown, ErrSubjectInvalid, ErrBodyInvalid, ErrRequestUnknown, ErrNotFound,
	ErrClosed, ErrAlreadyClaimed, ErrNotClaimed, ErrNotYours, ErrAttachmentCount, ErrAttachmentNotFound, ErrMalformed,
	ErrTooLarge, ErrMultipartRequired, ErrAttachmentsUnavailable}

// Errors returns every sentinel of the package.
func Errors() []*failure.Error { return append([]*failure.Error(nil), sentinels...) }
