package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections/casequeues"
	"github.com/msa-dossier/dossier/projections/documentsubmissions"
)

// The member's deposit of documents ("Envoyer un document") and the staff's side of it: the intake queue, a case's
// documents and their files. A deposit is one multipart/form-data request: first a part named "submission" (the JSON
// depositRequest), then the files, each a part named "documents[i].files" (i from 0, in the order of the JSON's
// documents; a document's files in their order). The body is streamed: each file is read (up to its limit plus one
// byte), checked, sealed and stored before the next one is read; the deposit is recorded only once every file is
// durable. A refusal deletes what was stored and names the document and the file.

// BlobReader gives a stored file back, opened with its subject's key (*blobstore.Store implements it).
type BlobReader interface {
	Get(ctx context.Context, subject uuid.UUID, key string) ([]byte, error)
}

// DocumentsConfig configures the deposit routes.
type DocumentsConfig struct {
	// MaxBodyBytes bounds a deposit's whole body (default: 10 documents × 5 files × 1 MiB + 64 KiB).
	MaxBodyBytes int64
	// MedicalServiceAddress is the postal address of the fund's medical service, told to a member who tries to
	// deposit a medical document.
	MedicalServiceAddress string
	// PerMemberPerMinute and PerMemberBurst throttle deposits per member (default 6 per minute, bursts of 10).
	PerMemberPerMinute, PerMemberBurst int
}

// DefaultDepositBodyBytes is the default bound of a deposit's body.
const DefaultDepositBodyBytes = 10*5*document.MB + 64<<10

type depositDocument struct {
	Nature string `json:"nature"` // a code of the natures list (GET /v1/document-lists)
	Person string `json:"person"` // the person concerned: the member or a named member of the household
	Reason string `json:"reason"`
}

// depositRequest is the JSON part "submission" of a deposit.
type depositRequest struct {
	Subject   string            `json:"subject"`              // a code of the subjects list
	RequestID string            `json:"request_id,omitempty"` // the member's request, for the subjects that need one
	Attest    bool              `json:"attestation"`          // the conformity attestation: must be true
	Documents []depositDocument `json:"documents"`
}

type depositBody struct {
	documentsubmissions.Deposit
	Position string `json:"position"`
}

// depositsBody is a page of the member's deposits, the newest first.
type depositsBody struct {
	Deposits []documentsubmissions.Deposit `json:"deposits"`
	Next     *string                       `json:"next"`
}

// depositPaging pages the intake queue and a case's documents (the member's deposits use memberPaging).
var depositPaging = paging{Default: documentsubmissions.DefaultLimit, Max: documentsubmissions.MaxLimit}

type documentListsBody struct {
	document.Lists
	MaxDocuments          int    `json:"max_documents"`
	MaxFilesPerDocument   int    `json:"max_files_per_document"`
	MaxBodyBytes          int64  `json:"max_body_bytes"`
	SizeUnit              string `json:"size_unit"`
	MedicalServiceAddress string `json:"medical_service_address"`
}

// documentLists serves the subjects and natures a deposit is checked against, with the limits (sizes in bytes;
// "1 Mo" is 1,048,576 bytes).
func (s *Server) documentLists(w http.ResponseWriter, r *http.Request) {
	if s.deps.DocumentCommands == nil {
		s.writeError(w, r, errDepositsOff)
		return
	}
	lim := s.deps.DocumentCommands.Limits()
	writeJSON(w, http.StatusOK, documentListsBody{Lists: document.Current(), MaxDocuments: lim.MaxDocuments,
		MaxFilesPerDocument: lim.MaxFiles, MaxBodyBytes: s.depositBodyLimit(), SizeUnit: "byte (1 Mo = 1 048 576 octets)",
		MedicalServiceAddress: s.deps.Documents.MedicalServiceAddress})
}

func (s *Server) depositBodyLimit() int64 {
	if s.deps.Documents.MaxBodyBytes > 0 {
		return s.deps.Documents.MaxBodyBytes
	}
	return DefaultDepositBodyBytes
}

var filePart = regexp.MustCompile(`^documents\[(\d{1,3})\]\.files$`)

// maxSubmissionPart bounds the JSON part.
const maxSubmissionPart = 64 << 10

// errDepositsOff answers the deposit routes of a server built without the document commands.
var errDepositsOff = failure.New(failure.Unavailable, "document.unavailable", "document deposits are not configured")

// errMultipartRequired answers a deposit whose body is not multipart/form-data (415).
var errMultipartRequired = failure.New(failure.Invalid, "document.multipart_required", "multipart/form-data body required")

// submitDocuments records a deposit of the caller's (see the comment at the top of this file). The request's form is
// judged first, whatever the configuration: a body that is not multipart/form-data (415), a declared length above the
// limit (413), then the throttle (429), a malformed first part (400); only then the deposits' configuration (503).
func (s *Server) submitDocuments(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	member := principalOf(ctx).ID
	throttle := func() bool {
		now := time.Now()
		if s.deposits.limiter(member.String(), now).AllowN(now, 1) {
			return true
		}
		w.Header().Set("Retry-After", "10")
		writeTooMany(w, r, s)
		return false
	}
	deposit := multipartForm{notMultipart: errMultipartRequired, tooLarge: document.ErrBodyTooLarge,
		malformed: document.ErrMalformed, limit: s.depositBodyLimit(), first: "submission"}
	m, mr, raw, ok := s.openMultipart(w, r, deposit, throttle, func(err error) { s.writeDepositError(w, r, err, nil) })
	if !ok {
		return
	}
	var in depositRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || !validText(raw) {
		s.writeDepositError(w, r, document.ErrMalformed, nil)
		return
	}
	if s.deps.DocumentCommands == nil {
		s.writeError(w, r, errDepositsOff)
		return
	}
	form := command.DepositForm{Subject: in.Subject, Attested: in.Attest}
	if in.RequestID != "" {
		var err error
		if form.RequestID, err = uuid.Parse(in.RequestID); err != nil {
			s.writeDepositError(w, r, failure.Field("request_id", document.ErrRequestNotFound), nil)
			return
		}
	}
	for _, d := range in.Documents {
		form.Documents = append(form.Documents, command.DepositDocument{Nature: d.Nature, Person: d.Person, Reason: d.Reason})
	}
	dep, err := s.deps.DocumentCommands.Begin(ctx, m, member, form)
	if err != nil {
		s.writeDepositError(w, r, err, nil)
		return
	}
	// The fingerprint of an idempotent deposit: the JSON part and each file's place and SHA-256 (multipart
	// boundaries differ between retries, so the raw body cannot be it).
	var mac = hmac.New(sha256.New, m.CommandID[:])
	mac.Write(canonicalJSON(raw))
	names := map[[2]int]string{}
	counts := make([]int, len(form.Documents))
	var buf bytes.Buffer // one file at a time in memory
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			dep.Abort(ctx)
			s.writeDepositError(w, r, deposit.readError(err), names)
			return
		}
		match := filePart.FindStringSubmatch(part.FormName())
		if match == nil {
			dep.Abort(ctx)
			s.writeDepositError(w, r, document.ErrMalformed, names)
			return
		}
		i, _ := strconv.Atoi(match[1])
		if i >= len(form.Documents) {
			dep.Abort(ctx)
			s.writeDepositError(w, r, failure.Field(fmt.Sprintf("documents[%d]", i), document.ErrFileCount), names)
			return
		}
		names[[2]int{i, counts[i]}] = part.FileName()
		buf.Reset()
		if _, err := buf.ReadFrom(io.LimitReader(part, dep.MaxFileBytes(i)+1)); err != nil {
			dep.Abort(ctx)
			s.writeDepositError(w, r, deposit.readError(err), names)
			return
		}
		sum := sha256.Sum256(buf.Bytes())
		fmt.Fprintf(mac, "\x00%d.%d.%x", i, counts[i], sum)
		if err := dep.AddFile(ctx, i, part.FileName(), buf.Bytes()); err != nil {
			dep.Abort(ctx)
			s.writeDepositError(w, r, err, names)
			return
		}
		counts[i]++
	}
	if r.Header.Get(IdempotencyKeyHeader) != "" {
		dep.SetRequestHash(hex.EncodeToString(mac.Sum(nil)[:16]))
	}
	res, err := dep.Commit(ctx)
	if err != nil {
		dep.Abort(ctx)
		s.writeDepositError(w, r, err, names)
		return
	}
	s.writeCommand(w, http.StatusCreated, res.Position, depositBody{
		Deposit: documentsubmissions.FromDeposit(member, res.Deposit), Position: formatPosition(res.Position)})
}

var depositFieldPattern = regexp.MustCompile(`^documents\[(\d+)\](?:\.files\[(\d+)\]|\.(\w+))?$`)

// writeDepositError answers a refused deposit: the code, and a French message naming the document and the file (its
// name as sent) the refusal is about; a medical nature adds the medical service's address.
func (s *Server) writeDepositError(w http.ResponseWriter, r *http.Request, err error, names map[[2]int]string) {
	kind, code := failure.KindOf(err), failure.CodeOf(err)
	if kind == failure.Internal {
		s.writeError(w, r, err)
		return
	}
	status := statusOf(kind)
	switch code {
	case document.ErrMalformed.Code:
		status = http.StatusBadRequest
	case document.ErrBodyTooLarge.Code:
		status = http.StatusRequestEntityTooLarge
	case errMultipartRequired.Code:
		status = http.StatusUnsupportedMediaType
	}
	field := failure.FieldOf(err)
	msg := s.messageFor(r, code, kind)
	if sub := depositFieldPattern.FindStringSubmatch(field); sub != nil {
		i, _ := strconv.Atoi(sub[1])
		where := fmt.Sprintf("Document %d", i+1)
		if sub[2] != "" {
			j, _ := strconv.Atoi(sub[2])
			where += fmt.Sprintf(", fichier %d", j+1)
			if name := names[[2]int{i, j}]; name != "" && plainFileName(name) {
				where += " « " + name + " »"
			}
		}
		msg = where + " : " + msg
	}
	if code == document.ErrNatureMedical.Code && s.deps.Documents.MedicalServiceAddress != "" {
		msg += " Adresse : " + s.deps.Documents.MedicalServiceAddress + "."
	}
	writeJSON(w, status, ErrorBody{Code: code, Message: msg, Field: field})
}

func plainFileName(s string) bool {
	return len(s) <= 255 && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// listDeposits lists a page of the caller's deposits, the newest first.
func (s *Server) listDeposits(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.deps.Deposits.List(r.Context(), principalOf(r.Context()).ID, pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	writeJSON(w, http.StatusOK, depositsBody{Deposits: nonNilSlice(list), Next: nextOf(next)})
}

// getDeposit returns one of the caller's deposits; another member's is not found.
func (s *Server) getDeposit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.deps.Deposits.Get(r.Context(), principalOf(r.Context()).ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

type intakeBody struct {
	Deposits []intakeDeposit `json:"deposits"`
	Next     *string         `json:"next"`
}

// intakeDeposit is a deposit of the intake queue with its member's id (to find the member's cases).
type intakeDeposit struct {
	documentsubmissions.Deposit
	MemberID uuid.UUID `json:"member_id"`
}

// listIntake lists a page of the deposits waiting in the intake queue, the oldest first. It shows no personal text
// (who, why, file names): those are read in the member's data, once attached.
func (s *Server) listIntake(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.deps.Deposits.Intake(r.Context(), pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	out := make([]intakeDeposit, len(list))
	for i := range list {
		for j := range list[i].Documents {
			d := &list[i].Documents[j]
			d.Person, d.Reason = "", ""
			for k := range d.Files {
				d.Files[k].Name = ""
			}
		}
		out[i] = intakeDeposit{Deposit: list[i], MemberID: list[i].MemberID}
	}
	writeJSON(w, http.StatusOK, intakeBody{Deposits: out, Next: nextOf(next)})
}

type attachmentRequest struct {
	CaseID string `json:"case_id"`
}

// attachDeposit attaches a deposit of the intake queue to a case of the same member, in a queue the caller works.
func (s *Server) attachDeposit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in attachmentRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		caseID, err := uuid.Parse(in.CaseID)
		if err != nil {
			return 0, 0, nil, failure.Field("case_id", document.ErrRequestNotFound)
		}
		dep, err := s.deps.Deposits.ByID(r.Context(), id)
		if err != nil {
			return 0, 0, nil, err
		}
		if err := s.caseVisible(r, caseID); err != nil {
			return 0, 0, nil, err
		}
		res, err := s.deps.DocumentCommands.AttachDeposit(r.Context(), m, dep.MemberID, id, caseID)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

// intakeCaseRequest is the request a caseworker opens from an intake deposit: a service of the current catalogue
// and its form, checked as a member's submission is (the caseworker transcribes what the deposit asks for).
type intakeCaseRequest struct {
	Service string         `json:"service"`
	Form    map[string]any `json:"form"`
}

// openIntakeCase opens a new case for the member from a deposit of the intake queue: a request filed on the
// member's behalf, acknowledged and queued like theirs, its clock from the deposit's receipt, the deposit in its file.
func (s *Server) openIntakeCase(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var in intakeCaseRequest
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		dep, err := s.deps.Deposits.ByID(r.Context(), id)
		if err != nil {
			return 0, 0, nil, err
		}
		res, err := s.deps.DocumentCommands.OpenCaseFromDeposit(r.Context(), m, principalOf(r.Context()).ID,
			dep.MemberID, id, command.SubmitInput{Service: in.Service, Form: in.Form})
		return http.StatusCreated, res.Position, acknowledgementOf(res), err
	})
}

// caseVisible checks that the caller sees case id (its queue is one of theirs; a confidential case is not found
// outside the medical service).
func (s *Server) caseVisible(r *http.Request, id uuid.UUID) error {
	access, err := s.deps.CaseCommands.QueueAccess(r.Context(), principalOf(r.Context()).ID)
	if err != nil {
		return err
	}
	c, err := s.deps.Queues.Get(r.Context(), id)
	if err != nil {
		return err
	}
	if err := access.CaseCheck(c.Queue); err != nil {
		if failure.KindOf(err) == failure.NotFound {
			return casequeues.ErrNotFound
		}
		return err
	}
	return nil
}

type caseDocumentsBody struct {
	Deposits []documentsubmissions.Deposit `json:"deposits"`
	Next     *string                       `json:"next"`
}

// caseDocuments lists a page of the deposits in a case's file, the oldest first. The opening is recorded in the
// member's access log before the page is answered.
func (s *Server) caseDocuments(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.caseVisible(r, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next, err := s.deps.Deposits.CasePage(r.Context(), id, pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	recorded := map[uuid.UUID]bool{}
	for _, d := range list {
		if recorded[d.MemberID] {
			continue
		}
		if err := s.recordOpening(r, d.MemberID, staff.ViewCaseDocuments, d.Reference); err != nil {
			s.writeError(w, r, err)
			return
		}
		recorded[d.MemberID] = true
	}
	writeJSON(w, http.StatusOK, caseDocumentsBody{Deposits: nonNilSlice(list), Next: nextOf(next)})
}

func (s *Server) recordOpening(r *http.Request, member uuid.UUID, what, subject string) error {
	m, err := meta(r)
	if err != nil {
		return err
	}
	p := principalOf(r.Context())
	_, err = s.deps.StaffCommands.RecordMemberDataOpened(r.Context(), m, p.ID, string(staffActorRole(p.Roles)), member, what, subject)
	return err
}

var extensions = map[string]string{document.TypePDF: "pdf", document.TypeJPEG: "jpg", document.TypePNG: "png"}

// caseDocumentFile serves one file of a deposit in a case's file: its real type, nosniff, as an attachment. The
// opening is recorded in the member's access log before the content is read.
func (s *Server) caseDocumentFile(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, err := pathID(r, "submission")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	i, err1 := strconv.Atoi(r.PathValue("document"))
	j, err2 := strconv.Atoi(r.PathValue("file"))
	if err1 != nil || err2 != nil || i < 0 || j < 0 {
		s.writeError(w, r, documentsubmissions.ErrNotFound)
		return
	}
	if err := s.caseVisible(r, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	dep, err := s.deps.Deposits.ByID(r.Context(), sub)
	if err != nil || dep.CaseID == nil || *dep.CaseID != id {
		s.writeError(w, r, documentsubmissions.ErrNotFound)
		return
	}
	f, err := s.deps.Deposits.File(r.Context(), sub, i, j)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.recordOpening(r, dep.MemberID, staff.ViewCaseDocument, dep.Reference); err != nil {
		s.writeError(w, r, err)
		return
	}
	content, err := s.deps.Blobs.Get(r.Context(), dep.MemberID, f.BlobKey)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", f.Type)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%d-%d.%s"`, dep.Reference, i+1, j+1, extensions[f.Type]))
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(content)
}

// streamedBody gives handler the request body under its route's own limit instead of the server's (see
// route.BodyLimit); the body is not fingerprinted in advance.
func streamedBody(limit int64, handler http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if raw, ok := r.Context().Value(rawBodyKey{}).(io.ReadCloser); ok {
			r.Body = http.MaxBytesReader(w, raw, limit)
		}
		handler(w, r)
	}
}

type rawBodyKey struct{}

// multipartParts names the parts of a streamed multipart request (route.BodyLimit) whose JSON part's type
// implements it: the JSON part, the files' part and what the files are. A request type without it is a deposit's.
type multipartParts interface {
	multipartParts() (jsonPart, filesPart, filesDescription string)
}

// multipartContent is the OpenAPI request content of a streamed multipart request of JSON part request: the JSON
// part (schema), then the files (a deposit: "submission", then "documents[0].files", …).
func multipartContent(request any, schema any) map[string]any {
	jsonPart, filesPart, desc := "submission", "documents[0].files", "The files of document 0 (then documents[1].files, …): PDF, JPEG or PNG, judged by content."
	if p, ok := request.(multipartParts); ok {
		jsonPart, filesPart, desc = p.multipartParts()
	}
	return map[string]any{"multipart/form-data": map[string]any{
		"schema": map[string]any{"type": "object", "required": []string{jsonPart}, "properties": map[string]any{
			jsonPart:  schema,
			filesPart: map[string]any{"type": "array", "items": map[string]any{"type": "string", "format": "binary"}, "description": desc},
		}},
		"encoding": map[string]any{jsonPart: map[string]any{"contentType": "application/json"}},
	}}
}
