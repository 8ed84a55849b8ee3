package httpapi

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/msa-dossier/dossier/domain/command"
)

// multipartForm is what a multipart/form-data route (a deposit, a message with attachments) refuses its body with,
// and its first part: the JSON one, checked before any file is read.
type multipartForm struct {
	notMultipart error  // the body is not multipart/form-data (415)
	tooLarge     error  // a declared length above limit, or a part beyond the body's limit (413)
	malformed    error  // no boundary, no first part of that name, a broken part (400)
	limit        int64  // the body's limit
	first        string // the first part's name
}

// openMultipart judges the form of a multipart request in order (its type, its declared length, admit, its
// boundary, the command's meta), then reads its first part whole (maxSubmissionPart bytes at most). admit (nil:
// none) answers and returns false to stop there (the deposits' throttle). A refusal of the form is answered by
// refuse, any other error by writeError; ok false: the request is answered. The files follow in mr.
func (s *Server) openMultipart(w http.ResponseWriter, r *http.Request, f multipartForm, admit func() bool,
	refuse func(error)) (m command.Meta, mr *multipart.Reader, first []byte, ok bool) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		refuse(f.notMultipart)
		return m, nil, nil, false
	}
	if r.ContentLength > f.limit {
		refuse(f.tooLarge)
		return m, nil, nil, false
	}
	if admit != nil && !admit() {
		return m, nil, nil, false
	}
	if params["boundary"] == "" {
		refuse(f.malformed)
		return m, nil, nil, false
	}
	if m, err = meta(r); err != nil {
		s.writeError(w, r, err)
		return m, nil, nil, false
	}
	mr = multipart.NewReader(r.Body, params["boundary"])
	part, err := mr.NextPart()
	if err != nil || part.FormName() != f.first {
		refuse(f.readError(err))
		return m, nil, nil, false
	}
	first, err = io.ReadAll(io.LimitReader(part, maxSubmissionPart+1))
	if err != nil || len(first) > maxSubmissionPart {
		refuse(f.readError(err))
		return m, nil, nil, false
	}
	return m, mr, first, true
}

// readError is the refusal of a part that could not be read: too large when the body went beyond its limit,
// malformed otherwise.
func (f multipartForm) readError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return f.tooLarge
	}
	return f.malformed
}
