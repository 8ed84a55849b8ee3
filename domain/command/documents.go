package command

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// FileChecker judges a file from its content (filecheck.Check implements it): its real type, or a document refusal.
type FileChecker func(ctx context.Context, content []byte, limit int64) (string, error)

// BlobStore keeps the deposited files sealed with their subject's key (*blobstore.Store implements it). Put returns
// only once the blob is durable; Delete removes one (a refused deposit's blobs).
type BlobStore interface {
	Put(ctx context.Context, subject uuid.UUID, content []byte) (key string, storedSize int64, err error)
	Delete(ctx context.Context, key string) error
}

// DocumentLimits are the deposit's configured counts: documents per deposit (N) and files per document (K).
type DocumentLimits struct {
	MaxDocuments int // 10 by default
	MaxFiles     int // 5 by default
}

// Documents runs the member's deposits of documents and the caseworkers' intake. Its ports: the store, the file
// checker, the blob store, and the case commands (a deposit answering an information request goes through the
// member's own answer, Cases.ProvideInformation, so the legal clock moves exactly as it does for that answer).
type Documents struct {
	core
	check  FileChecker
	blobs  BlobStore
	cases  *Cases
	limits DocumentLimits
}

// NewDocuments returns the deposit commands; every port is required.
func NewDocuments(rt Runtime, check FileChecker, blobs BlobStore, cases *Cases, limits DocumentLimits) (*Documents, error) {
	c, err := newCore(rt)
	if err != nil {
		return nil, err
	}
	if check == nil || blobs == nil || cases == nil {
		return nil, errors.New("command: the document commands need a FileChecker, a BlobStore and the case commands")
	}
	if limits.MaxDocuments <= 0 {
		limits.MaxDocuments = 10
	}
	if limits.MaxFiles <= 0 {
		limits.MaxFiles = 5
	}
	return &Documents{core: c, check: check, blobs: blobs, cases: cases, limits: limits}, nil
}

// Limits returns the configured counts.
func (h *Documents) Limits() DocumentLimits { return h.limits }

// DepositForm is what a member states about a deposit before its files: the subject, the request it is for (when
// the subject needs one), the conformity attestation, and each document's nature, person concerned and reason.
type DepositForm struct {
	Subject   string
	RequestID uuid.UUID
	Attested  bool
	Documents []DepositDocument
}

// DepositDocument is one document of a DepositForm.
type DepositDocument struct {
	Nature string
	Person string
	Reason string
}

// Deposit is a deposit in progress: its form is valid, its files are checked and stored one by one (AddFile),
// then Commit records it, or Abort deletes what was stored. Only one file is held in memory at a time.
type Deposit struct {
	h        *Documents
	m        Meta
	member   uuid.UUID
	id       uuid.UUID
	now      time.Time
	form     DepositForm
	lists    document.Lists
	docs     []document.Document
	details  []document.Detail
	stored   []string
	awaiting bool // the linked request awaits information (subject information_answer)
	// Existing is set when the deposit was recorded already (a retry with the same Idempotency-Key): AddFile
	// then stores nothing and Commit answers with what was recorded.
	Existing *document.Deposit
}

// ID is the deposit's id (derived from the Idempotency-Key and the member).
func (d *Deposit) ID() uuid.UUID { return d.id }

// MaxFileBytes is the size limit of the files of document i (the limit of its nature).
func (d *Deposit) MaxFileBytes(i int) int64 {
	n, _ := d.lists.Nature(d.form.Documents[i].Nature)
	return n.MaxFileBytes
}

// Begin checks a deposit's form for member memberID and returns the deposit to add files to. Errors, each wrapped
// with the field they are about: document.subject_unknown, .request_required, .request_not_allowed,
// .request_not_found (also another member's request), .request_closed, .not_awaiting_information, .count_invalid,
// .attestation_missing, .nature_unknown, .nature_medical, .person_invalid, .reason_invalid.
func (h *Documents) Begin(ctx context.Context, m Meta, memberID uuid.UUID, form DepositForm) (*Deposit, error) {
	const op = "command.BeginDeposit"
	if memberID == uuid.Nil {
		return nil, failure.Op(op, document.ErrNotFound)
	}
	m = withActor(h.withCommandID(m), memberID)
	stream := document.StreamID(memberID)
	d := &Deposit{h: h, m: m, member: memberID, now: h.clock().UTC(), form: form, lists: document.Current()}
	d.id = uuid.NewSHA1(h.command(m, stream).Metadata.CommandID, []byte("document-submission"))
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return nil, failure.Op(op, err)
	}
	var st document.State
	for _, env := range history {
		st.Apply(env.Event, env.Metadata.OccurredAt)
	}
	if dep := st.Deposits[d.id]; dep != nil {
		d.Existing = dep
		return d, nil
	}
	if err := h.validate(ctx, d); err != nil {
		return nil, failure.Op(op, err)
	}
	d.docs = make([]document.Document, len(form.Documents))
	d.details = make([]document.Detail, len(form.Documents))
	for i, doc := range form.Documents {
		d.docs[i].Nature = doc.Nature
		d.details[i] = document.Detail{Person: strings.TrimSpace(doc.Person), Reason: strings.TrimSpace(doc.Reason)}
	}
	return d, nil
}

func (h *Documents) validate(ctx context.Context, d *Deposit) error {
	f := d.form
	subject, ok := d.lists.Subject(f.Subject)
	if !ok {
		return failure.Field("subject", document.ErrSubjectUnknown)
	}
	switch {
	case subject.NeedsRequest && f.RequestID == uuid.Nil:
		return failure.Field("request_id", document.ErrRequestRequired)
	case !subject.NeedsRequest && f.RequestID != uuid.Nil:
		return failure.Field("request_id", document.ErrRequestNotAllowed)
	}
	if !f.Attested {
		return failure.Field("attestation", document.ErrAttestationMissing)
	}
	if n := len(f.Documents); n < 1 || n > h.limits.MaxDocuments {
		return failure.Field("documents", document.ErrDocumentCount)
	}
	for i, doc := range f.Documents {
		field := fmt.Sprintf("documents[%d]", i)
		nature, ok := d.lists.Nature(doc.Nature)
		switch {
		case !ok:
			return failure.Field(field+".nature", document.ErrNatureUnknown)
		case nature.Medical:
			return failure.Field(field+".nature", document.ErrNatureMedical)
		case !plainText(doc.Person, 200):
			return failure.Field(field+".person", document.ErrPersonInvalid)
		case !plainText(doc.Reason, 1000):
			return failure.Field(field+".reason", document.ErrReasonInvalid)
		}
	}
	if f.RequestID == uuid.Nil {
		return nil
	}
	history, err := h.store.Load(ctx, servicerequest.StreamID(f.RequestID))
	if err != nil {
		return err
	}
	r := servicerequest.Rehydrate(f.RequestID, history)
	if !r.Submitted() || r.MemberID() != d.member {
		return failure.Field("request_id", document.ErrRequestNotFound)
	}
	if _, closed := r.Closed(); closed {
		return failure.Field("request_id", document.ErrRequestClosed)
	}
	_, _, d.awaiting = r.Awaiting()
	if f.Subject == document.SubjectInformationAnswer && !d.awaiting {
		return failure.Field("request_id", document.ErrNotAwaitingInformation)
	}
	return nil
}

// plainText: not blank, at most max characters, valid UTF-8 without control characters.
func plainText(s string, max int) bool {
	s = strings.TrimSpace(s)
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	return !strings.ContainsFunc(s, unicode.IsControl)
}

// FileField names file j of document i in refusals.
func FileField(i, j int) string { return fmt.Sprintf("documents[%d].files[%d]", i, j) }

// AddFile checks content as the next file of document i (named name by the member) and stores it durably. A refusal
// is wrapped with the file's field ("documents[i].files[j]"): document.file_empty, .file_too_large, .file_type,
// .image_invalid, .pdf_invalid, .pdf_encrypted, .pdf_active_content, or .file_count_invalid (too many files for
// the document, or a document that is not in the form).
func (d *Deposit) AddFile(ctx context.Context, i int, name string, content []byte) error {
	if d.Existing != nil {
		return nil
	}
	if i < 0 || i >= len(d.docs) {
		return failure.Field(fmt.Sprintf("documents[%d]", i), document.ErrFileCount)
	}
	j := len(d.docs[i].Files)
	field := FileField(i, j)
	if j >= d.h.limits.MaxFiles {
		return failure.Field(field, document.ErrFileCount)
	}
	typ, err := d.h.check(ctx, content, d.MaxFileBytes(i))
	if err != nil {
		return failure.Field(field, err)
	}
	key, size, err := d.h.blobs.Put(ctx, d.member, content)
	if err != nil {
		return err
	}
	d.stored = append(d.stored, key)
	d.docs[i].Files = append(d.docs[i].Files, document.File{Type: typ, Size: int64(len(content)),
		SHA256: sha256Hex(content), BlobKey: key, StoredSize: size})
	if !plainName(name) {
		name = fmt.Sprintf("fichier-%d", j+1)
	}
	d.details[i].FileNames = append(d.details[i].FileNames, name)
	return nil
}

func plainName(s string) bool { return plainText(s, 255) }

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Abort deletes the files stored so far (a refused deposit stores nothing). What a failed delete leaves, the
// sweeper removes later: no event references it.
func (d *Deposit) Abort(ctx context.Context) {
	for _, k := range d.stored {
		_ = d.h.blobs.Delete(context.WithoutCancel(ctx), k)
	}
	d.stored = nil
}

// DepositResult is a recorded deposit and the commit position of its events.
type DepositResult struct {
	Result
	Deposit document.Deposit
}

// Commit records the deposit once every document has at least one file: DocumentsSubmitted then its registration
// (DocumentsSubmissionRegistered: the answer to the information request, the case file of its request, or the intake
// queue) in one append, after every file is durable. A deposit answering an information request then records the
// member's answer on the request through Cases.ProvideInformation (its own command id, derived from the deposit's:
// a retry with the same Idempotency-Key completes it). Errors: document.file_count_invalid (a document without
// files), and the answer's errors.
func (d *Deposit) Commit(ctx context.Context) (DepositResult, error) {
	const op = "command.CommitDeposit"
	h := d.h
	stream := document.StreamID(d.member)
	if d.Existing == nil {
		for i, doc := range d.docs {
			if len(doc.Files) == 0 {
				return DepositResult{}, failure.Op(op, failure.Field(FileField(i, 0), document.ErrFileCount))
			}
		}
	}
	disposition := document.DispositionIntake
	switch {
	case d.form.Subject == document.SubjectInformationAnswer || d.awaiting:
		// Any deposit linked to a request awaiting information answers it (supporting documents too).
		disposition = document.DispositionInformationAnswer
	case d.form.RequestID != uuid.Nil:
		disposition = document.DispositionCaseFile
	}
	cmd := h.commandAt(d.m, stream, d.now)
	cmd.RetryOnConflict = 3
	commit, err := h.store.Update(ctx, stream, cmd, func([]event.Envelope) ([]any, error) {
		return []any{
			document.Submitted{SubmissionID: d.id, Reference: document.Reference(d.id), ListsVersion: d.lists.Version,
				Subject: d.form.Subject, RequestID: d.form.RequestID, AttestedAt: d.now, Documents: d.docs, Details: d.details},
			document.Registered{SubmissionID: d.id, Disposition: disposition, RequestID: d.form.RequestID},
		}, nil
	})
	if err != nil {
		return DepositResult{}, failure.Op(op, err)
	}
	d.stored = nil // referenced now: never deleted
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return DepositResult{}, failure.Op(op, err)
	}
	var st document.State
	for _, env := range history {
		st.Apply(env.Event, env.Metadata.OccurredAt)
	}
	dep := st.Deposits[d.id]
	if dep == nil {
		return DepositResult{}, failure.Opf(op, "deposit %s not in %s", d.id, stream)
	}
	res := DepositResult{Result: Result{Position: commit.Position}, Deposit: *dep}
	if dep.Disposition == document.DispositionInformationAnswer {
		am := d.m
		am.CommandID = uuid.NewSHA1(d.id, []byte("information-answer"))
		answer, err := h.cases.ProvideInformation(ctx, am, d.member, dep.RequestID,
			"Documents déposés en ligne, référence "+dep.Reference)
		// A rule refusal (the information came in meanwhile, the deadline passed, the case closed) leaves the
		// deposit recorded in the case file; only an operational failure is the member's error (a retry completes).
		if err != nil && failure.KindOf(err) != failure.Rule {
			return DepositResult{}, failure.Op(op, err)
		}
		res.Position = max(res.Position, answer.Position)
	}
	return res, nil
}

// AttachDeposit attaches deposit submissionID of member memberID, waiting in the intake queue, to request requestID
// of the same member (a caseworker's intake). Errors: document.not_found (no such deposit of the member),
// .request_not_found (not a request of that member); attaching again to the same request changes nothing.
func (h *Documents) AttachDeposit(ctx context.Context, m Meta, memberID, submissionID, requestID uuid.UUID) (Result, error) {
	const op = "command.AttachDeposit"
	history, err := h.store.Load(ctx, servicerequest.StreamID(requestID))
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	r := servicerequest.Rehydrate(requestID, history)
	if requestID == uuid.Nil || !r.Submitted() || r.MemberID() != memberID {
		return Result{}, failure.Op(op, failure.Field("case_id", document.ErrRequestNotFound))
	}
	m = h.withCommandID(m)
	stream := document.StreamID(memberID)
	cmd := h.command(m, stream)
	cmd.RetryOnConflict = 3
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		var st document.State
		for _, env := range history {
			st.Apply(env.Event, env.Metadata.OccurredAt)
		}
		dep := st.Deposits[submissionID]
		switch {
		case dep == nil:
			return nil, document.ErrNotFound
		case dep.CaseID == requestID:
			return nil, nil
		case dep.Disposition != document.DispositionIntake:
			return nil, document.ErrNotInIntake
		}
		return []any{document.Attached{SubmissionID: submissionID, RequestID: requestID}}, nil
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// SetRequestHash sets the fingerprint of the request behind an Idempotency-Key (see Meta.RequestHash): a retry of the
// same key for another deposit is refused when committed.
func (d *Deposit) SetRequestHash(h string) { d.m.RequestHash = h }
