package document

import "github.com/msa-dossier/dossier/domain/failure"

// The refusals of a deposit, each with a stable code; domain/messages holds the French sentence. A refusal about one
// file or one document is wrapped with failure.Field naming it ("documents[1].files[0]"), so the member is told which.
var (
	ErrSubjectUnknown = failure.New(failure.Invalid, "document.subject_unknown",
		"unknown subject (see the subjects list)")
	ErrRequestRequired = failure.New(failure.Invalid, "document.request_required",
		"this subject needs the request the documents are for")
	ErrRequestNotAllowed = failure.New(failure.Invalid, "document.request_not_allowed",
		"this subject takes no request")
	ErrRequestNotFound = failure.New(failure.NotFound, "document.request_not_found",
		"no such request among the member's")
	ErrNotAwaitingInformation = failure.New(failure.Rule, "document.not_awaiting_information",
		"the request awaits no information")
	ErrRequestClosed = failure.New(failure.Rule, "document.request_closed", "the request is closed")
	ErrDocumentCount = failure.New(failure.Invalid, "document.count_invalid",
		"wrong number of documents (1 to the configured maximum)")
	ErrFileCount = failure.New(failure.Invalid, "document.file_count_invalid",
		"wrong number of files for a document (1 to the configured maximum)")
	ErrAttestationMissing = failure.New(failure.Invalid, "document.attestation_missing",
		"the conformity attestation is required")
	ErrNatureUnknown = failure.New(failure.Invalid, "document.nature_unknown", "unknown document nature")
	ErrNatureMedical = failure.New(failure.Rule, "document.nature_medical",
		"medical documents go by post to the medical service")
	ErrPersonInvalid = failure.New(failure.Invalid, "document.person_invalid",
		"the person concerned is missing, too long or holds control characters")
	ErrReasonInvalid = failure.New(failure.Invalid, "document.reason_invalid",
		"the reason is missing, too long or holds control characters")
	ErrFileEmpty        = failure.New(failure.Invalid, "document.file_empty", "empty file")
	ErrFileTooLarge     = failure.New(failure.Invalid, "document.file_too_large", "file above the size limit")
	ErrFileType         = failure.New(failure.Invalid, "document.file_type", "not a PDF, JPEG or PNG file")
	ErrImageInvalid     = failure.New(failure.Invalid, "document.image_invalid", "image truncated or malformed")
	ErrPDFInvalid       = failure.New(failure.Invalid, "document.pdf_invalid", "PDF unreadable")
	ErrPDFEncrypted     = failure.New(failure.Invalid, "document.pdf_encrypted", "encrypted PDF")
	ErrPDFActiveContent = failure.New(failure.Invalid, "document.pdf_active_content",
		"PDF with active content (scripts, actions, embedded files)")
	ErrBodyTooLarge = failure.New(failure.Invalid, "document.body_too_large", "deposit above the total size limit")
	ErrMalformed    = failure.New(failure.Invalid, "document.malformed", "malformed multipart deposit")
	ErrNotFound     = failure.New(failure.NotFound, "document.not_found", "no such deposit")
	ErrNotInIntake  = failure.New(failure.Rule, "document.not_in_intake", "the deposit is already in a case file")
)
