package inbox

import "github.com/msa-dossier/dossier/domain/failure"

// The refusals of the inbox commands, each with a stable code; domain/messages holds the French sentence.
var (
	ErrNotFound = failure.New(failure.NotFound, "inbox.document_not_found", "no such document in the member's inbox")
	ErrTitle    = failure.New(failure.Invalid, "inbox.title_invalid", "a document needs a title (1 to 200 characters)")
	ErrEmpty    = failure.New(failure.Invalid, "inbox.file_empty", "a document needs a non-empty file")
	ErrType     = failure.New(failure.Invalid, "inbox.file_type", "a published document is a PDF, JPEG or PNG")
)
