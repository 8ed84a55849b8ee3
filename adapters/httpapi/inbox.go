package httpapi

import (
	"mime"
	"net/http"
	"strconv"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/projections/memberdocuments"
)

// The member's inbox ("Consulter un document"): the documents the fund published to the member, newest first,
// each with when it was opened and notified; the content of one, whose first opening is recorded (the notification)
// before it is served.

// inboxBody is one page of the member's documents and how many of all of them were never opened.
type inboxBody struct {
	Documents []memberdocuments.InboxDocument `json:"documents"`
	Unread    int                             `json:"unread"`
	Next      *string                         `json:"next"`
}

func (s *Server) listInboxDocuments(w http.ResponseWriter, r *http.Request) {
	list, next, unread, err := s.deps.Inbox.List(r.Context(), principalOf(r.Context()).ID, pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	writeJSON(w, http.StatusOK, inboxBody{Documents: nonNilSlice(list), Unread: unread, Next: nextOf(next)})
}

func (s *Server) getInboxDocument(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.deps.Inbox.Get(r.Context(), principalOf(r.Context()).ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// inboxDocumentContent serves a document of the caller's inbox: its real type, nosniff, as an attachment. The first
// opening is recorded (command.Inbox.OpenDocument, once) before a byte is sent, so a member never reads a document
// whose notification is not recorded; the answer carries that command's position.
func (s *Server) inboxDocumentContent(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.deps.InboxCommands == nil || s.deps.Blobs == nil {
		s.writeError(w, r, errInboxOff)
		return
	}
	member := principalOf(r.Context()).ID
	d, err := s.deps.Inbox.Get(r.Context(), member, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	content, err := s.deps.Blobs.Get(r.Context(), member, d.BlobKey)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := meta(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.deps.InboxCommands.OpenDocument(r.Context(), m, member, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	name := d.FileName
	if name == "" || name == event.ErasedText {
		name = "document-" + id.String()
	}
	w.Header().Set("Content-Type", d.ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	if res.Position != 0 {
		s.sawPosition(res.Position)
		w.Header().Set(PositionHeader, formatPosition(res.Position))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(content)
}

// errInboxOff: the server runs without the inbox commands (no blob store).
var errInboxOff = failure.New(failure.Unavailable, "inbox.unavailable", "the documents of the inbox cannot be served now")
