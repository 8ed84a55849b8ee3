package httpapi

import (
	"bytes"
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

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/conversation"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/staff"
)

// A member's message with attachments: the multipart variant of POST /v1/conversations and
// POST /v1/conversations/{id}/messages. One multipart/form-data request: first a part named "message" (the same
// JSON as the plain route), then each file as a part named "attachments" (1 to the catalogue's maximum). The body is
// streamed under the route's own limit: each file is read (up to its limit plus one byte), judged on its content by
// the deposits' file rules, sealed with the member's key and stored before the next one is read; the message is
// recorded only once every file is durable, with the files' keys. A refusal deletes what was stored, names the
// attachment, and records nothing. Files are downloaded by the member (own conversations) and by staff of the
// queue (the opening recorded in the member's access log before a byte is sent).

// ConversationBodyLimit bounds a message with attachments: the most attachments of the catalogue at their limit,
// plus 64 KiB for the message part and the multipart framing.
func ConversationBodyLimit() int64 {
	c := conversation.Current()
	return int64(c.MaxAttachments)*c.MaxAttachmentBytes + 64<<10
}

// startConversationParts and conversationMessageParts are the "message" parts of the multipart routes (the JSON
// of the plain routes), with the files after them in parts named "attachments".
type (
	startConversationParts   struct{ startConversationRequest }
	conversationMessageParts struct{ conversationMessageRequest }
)

const attachmentsDescription = "The message's files, one part each (1 to 5): PDF, JPEG or PNG, judged by their content, 1 byte to 1 Mo (1,048,576 bytes) each."

func (startConversationParts) multipartParts() (string, string, string) {
	return "message", "attachments", attachmentsDescription
}

func (conversationMessageParts) multipartParts() (string, string, string) {
	return "message", "attachments", attachmentsDescription
}

// conversationAttachment is one file of a member's message as the API shows it.
type conversationAttachment struct {
	Index  int    `json:"index"` // from 0, in the order sent: the {n} of the download routes
	Name   string `json:"name"`  // as the member sent it
	Type   string `json:"type"`  // the real type, judged on the content
	Size   int64  `json:"size"`  // bytes, as sent
	SHA256 string `json:"sha256"`
}

func attachmentsOf(m conversation.Message) []conversationAttachment {
	if len(m.Attachments) == 0 {
		return nil
	}
	out := make([]conversationAttachment, len(m.Attachments))
	for i, a := range m.Attachments {
		out[i] = conversationAttachment{Index: i, Type: a.Type, Size: a.Size, SHA256: a.SHA256}
		if i < len(m.Names) {
			out[i].Name = m.Names[i]
		}
	}
	return out
}

var attachmentFieldPattern = regexp.MustCompile(`^attachments\[(\d+)\]$`)

// startConversationFiles is startConversation with attachments.
func (s *Server) startConversationFiles(w http.ResponseWriter, r *http.Request) {
	member := principalOf(r.Context()).ID
	s.conversationMultipart(w, r, func(m command.Meta, raw []byte) (*command.MemberMessage, error) {
		var in startConversationRequest
		if err := strictJSON(raw, &in); err != nil {
			return nil, err
		}
		return s.deps.ConversationCommands.BeginStart(r.Context(), m, member, command.StartConversation{
			Theme: in.Theme, Subject: in.Subject, Body: in.Body, RequestID: in.RequestID})
	}, func(res command.ConversationResult) any {
		return conversationStartedBody{ID: res.ID, Position: formatPosition(res.Position)}
	})
}

// writeConversationFiles is writeConversation with attachments.
func (s *Server) writeConversationFiles(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	member := principalOf(r.Context()).ID
	s.conversationMultipart(w, r, func(m command.Meta, raw []byte) (*command.MemberMessage, error) {
		var in conversationMessageRequest
		if err := strictJSON(raw, &in); err != nil {
			return nil, err
		}
		return s.deps.ConversationCommands.BeginWrite(r.Context(), m, member, id, in.Body)
	}, func(res command.ConversationResult) any { return positionOf(res.Position) })
}

// strictJSON decodes the "message" part: one JSON object of the route's request type, no unknown field.
func strictJSON(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || !validText(raw) {
		return conversation.ErrMalformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return conversation.ErrMalformed
	}
	return nil
}

// attachmentForm is the form of a message with attachments.
func attachmentForm() multipartForm {
	return multipartForm{notMultipart: conversation.ErrMultipartRequired, tooLarge: conversation.ErrTooLarge,
		malformed: conversation.ErrMalformed, limit: ConversationBodyLimit(), first: "message"}
}

// conversationMultipart reads a multipart message (see the top of this file): begin decodes the "message" part and
// checks it before any file is read; the files are then added one by one; the message is committed and answered
// with body(result), 201.
func (s *Server) conversationMultipart(w http.ResponseWriter, r *http.Request,
	begin func(command.Meta, []byte) (*command.MemberMessage, error), body func(command.ConversationResult) any) {
	ctx := r.Context()
	form := attachmentForm()
	m, mr, raw, ok := s.openMultipart(w, r, form, nil, func(err error) { s.writeAttachmentError(w, r, err, nil) })
	if !ok {
		return
	}
	msg, err := begin(m, raw)
	if err != nil {
		s.writeAttachmentError(w, r, err, nil)
		return
	}
	// The fingerprint of an idempotent message: the route, the path, the JSON part and each file's SHA-256 in order
	// (multipart boundaries differ between retries, so the raw body cannot be it).
	mac := hmac.New(sha256.New, m.CommandID[:])
	for _, b := range [][]byte{[]byte(r.Pattern), []byte(r.URL.EscapedPath()), canonicalJSON(raw)} {
		mac.Write(b)
		mac.Write([]byte{0})
	}
	var names []string
	var buf bytes.Buffer // one file at a time in memory
	fail := func(err error) {
		msg.Abort(ctx)
		s.writeAttachmentError(w, r, err, names)
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail(form.readError(err))
			return
		}
		if part.FormName() != "attachments" {
			fail(conversation.ErrMalformed)
			return
		}
		names = append(names, part.FileName())
		buf.Reset()
		if _, err := buf.ReadFrom(io.LimitReader(part, msg.MaxFileBytes()+1)); err != nil {
			fail(form.readError(err))
			return
		}
		sum := sha256.Sum256(buf.Bytes())
		fmt.Fprintf(mac, "%x\x00", sum)
		if err := msg.AddFile(ctx, part.FileName(), buf.Bytes()); err != nil {
			fail(err)
			return
		}
	}
	if r.Header.Get(IdempotencyKeyHeader) != "" {
		msg.SetRequestHash(hex.EncodeToString(mac.Sum(nil)[:16]))
	}
	res, err := msg.Commit(ctx)
	if err != nil {
		fail(err)
		return
	}
	s.writeCommand(w, http.StatusCreated, res.Position, body(res))
}

// writeAttachmentError answers a refused message with attachments: the code, and for a file the French message
// prefixed with the attachment it is about (its number and its name as sent).
func (s *Server) writeAttachmentError(w http.ResponseWriter, r *http.Request, err error, names []string) {
	kind, code := failure.KindOf(err), failure.CodeOf(err)
	if kind == failure.Internal || kind == failure.Unavailable {
		s.writeError(w, r, err)
		return
	}
	status := statusOf(kind)
	switch code {
	case conversation.ErrMalformed.Code:
		status = http.StatusBadRequest
	case conversation.ErrTooLarge.Code:
		status = http.StatusRequestEntityTooLarge
	case conversation.ErrMultipartRequired.Code:
		status = http.StatusUnsupportedMediaType
	}
	field := failure.FieldOf(err)
	msg := s.messageFor(r, code, kind)
	if sub := attachmentFieldPattern.FindStringSubmatch(field); sub != nil {
		n, _ := strconv.Atoi(sub[1])
		where := fmt.Sprintf("Pièce jointe %d", n+1)
		if n < len(names) && names[n] != "" && plainFileName(names[n]) {
			where += " « " + names[n] + " »"
		}
		msg = where + " : " + msg
	}
	writeJSON(w, status, ErrorBody{Code: code, Message: msg, Field: field})
}

// attachmentPath reads {id}, {message} and {n} of a download route.
func attachmentPath(r *http.Request) (id, message uuid.UUID, n int, err error) {
	if id, err = pathID(r, "id"); err != nil {
		return
	}
	if message, err = pathID(r, "message"); err != nil {
		return
	}
	n, convErr := strconv.Atoi(r.PathValue("n"))
	if convErr != nil || n < 0 {
		err = conversation.ErrAttachmentNotFound
	}
	return id, message, n, err
}

// conversationAttachment serves a file of one of the member's messages (the member's own conversations only).
func (s *Server) conversationAttachment(w http.ResponseWriter, r *http.Request) {
	id, message, n, err := attachmentPath(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	member := principalOf(r.Context()).ID
	a, _, err := s.deps.ConversationCommands.MemberAttachment(r.Context(), member, id, message, n)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.serveAttachment(w, r, member, a, n)
}

// staffConversationAttachment serves a file of a member's message to staff who see the conversation's queue; the
// opening is recorded in the member's access log before the content is read.
func (s *Server) staffConversationAttachment(w http.ResponseWriter, r *http.Request) {
	id, message, n, err := attachmentPath(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := meta(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	member, a, err := s.deps.ConversationCommands.StaffAttachment(r.Context(), m, principalOf(r.Context()).ID, id, message, n)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.recordOpening(r, member, staff.ViewConversationAttachment, id.String()); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.serveAttachment(w, r, member, a, n)
}

// serveAttachment sends an attachment's content: its real type, nosniff, as an attachment whose name says nothing
// personal.
func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request, member uuid.UUID, a conversation.Attachment, n int) {
	if s.deps.Blobs == nil {
		s.writeError(w, r, conversation.ErrAttachmentsUnavailable)
		return
	}
	content, err := s.deps.Blobs.Get(r.Context(), member, a.BlobKey)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ext := extensions[a.Type]
	if ext == "" {
		ext = "bin"
	}
	w.Header().Set("Content-Type", a.Type)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="piece-jointe-%d.%s"`, n+1, ext))
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(content)
}
