package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	gomail "github.com/wneessen/go-mail"

	"github.com/msa-dossier/dossier/domain/failure"
)

// Sender sends one mail. Implementations are safe for concurrent use. Send returns nil once the message has
// been handed over for good (accepted by the relay, or durably written to the outbox); its errors carry a
// failure kind: Unavailable (try again later) or Invalid (trying again cannot help).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Message is one mail to one person. Every text field may hold personal data: none of them is ever logged.
type Message struct {
	// MessageID identifies the message for ever: "left@right", without the angle brackets (they are
	// removed if present). Required, and derived from the effect's key (NewMessageID) so that a repeat
	// carries the same one.
	MessageID string
	// Date is the Date header. Zero: the time the sender writes the message. Reactions set the event's
	// business time, so that a repeat is byte for byte the first copy.
	Date time.Time
	// From is the author, "Name <address>" or a bare address. Empty: the sender's configured From.
	From string
	// To is the one recipient ("Name <address>" or a bare address). One mail per person on purpose: a
	// relay's refusal is then about that person, and no member ever sees another's address.
	To string
	// Subject is the subject line (UTF-8; encoded as RFC 2047 words when not ASCII). Required.
	Subject string
	// Text is the plain-text body, in French, UTF-8. Required: every mail reader can show it.
	Text string
	// HTML is an optional HTML version of Text; with it the mail is multipart/alternative.
	HTML string
	// Header holds extra header fields (such as "Auto-Submitted" or "Content-Language"). The fields this
	// package writes itself (From, To, Subject, Date, Message-ID, MIME and address fields) are refused.
	// "Auto-Submitted: auto-generated" (RFC 3834) is added unless set here: mails from Dossier are
	// automatic, and auto-responders should not answer them.
	Header map[string]string
	// Attachments are files sent with the mail (an iCalendar invitation, say); the mail is then multipart/mixed.
	Attachments []Attachment
}

// Attachment is one file attached to a Message.
type Attachment struct {
	Name        string // file name, such as "rendez-vous.ics"
	ContentType string // MIME type, such as "text/calendar; charset=utf-8; method=REQUEST"
	Data        []byte
}

// Errors of the package. Each carries its failure kind; causes are wrapped after them with %w.
var (
	// ErrInvalidMessage is a Message that cannot be sent as it is (a missing field, an address that does
	// not parse, a line break in a header).
	ErrInvalidMessage = failure.New(failure.Invalid, "mail.invalid_message", "invalid mail message")
	// ErrRejected is a permanent (5xx) refusal of the recipient or of the message by the relay.
	ErrRejected = failure.New(failure.Invalid, "mail.rejected", "mail rejected by the server")
	// ErrUnavailable is a relay that could not take the message now: unreachable, too slow, a temporary
	// (4xx) reply, or a session refused for reasons of configuration (TLS, authentication).
	ErrUnavailable = failure.New(failure.Unavailable, "mail.unavailable", "mail server unavailable")
	// ErrOutbox is an outbox file that could not be written (a full or read-only disk).
	ErrOutbox = failure.New(failure.Unavailable, "mail.outbox_unavailable", "mail outbox cannot be written")
)

// DefaultMessageIDDomain is the right-hand side of NewMessageID when the sender address has no usable domain.
const DefaultMessageIDDomain = "dossier.invalid"

// NewMessageID returns the Message-ID of the effect key: "<key>@<domain of from>". from is the sender
// address as configured ("Mon espace privé <ne-pas-repondre@msa.invalid>"); when it does not parse,
// DefaultMessageIDDomain is used. The key is normally messaging.EffectKey(handler, eventID), the same on
// every delivery of the event.
func NewMessageID(key uuid.UUID, from string) string {
	domain := DefaultMessageIDDomain
	if a, err := netmail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && isDotAtom(d) {
			domain = strings.ToLower(d)
		}
	}
	return key.String() + "@" + domain
}

// reservedHeaders are the fields the package writes itself, or that would change the MIME structure or
// the recipients: a caller's extra header may not set them.
var reservedHeaders = []string{
	"Bcc", "Cc", "Content-Disposition", "Content-Id", "Content-Transfer-Encoding", "Content-Type", "Date",
	"From", "Message-Id", "Mime-Version", "Reply-To", "Resent-Bcc", "Resent-Cc", "Resent-Date", "Resent-From",
	"Resent-Message-Id", "Resent-Sender", "Resent-To", "Return-Path", "Sender", "Subject", "To",
}

// envelope is a validated Message, ready to be rendered: the addresses parsed, the Message-ID normalised.
type envelope struct {
	id      string
	from    *netmail.Address
	to      *netmail.Address
	date    time.Time
	subject string
	text    string
	html    string
	header  map[string]string // canonical name → value
	files   []Attachment
}

// invalid returns ErrInvalidMessage with a reason that names a field, never its value.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidMessage, fmt.Sprintf(format, args...))
}

// prepare validates m and fills in the sender's defaults. Every problem is reported at once.
func prepare(m Message, defaultFrom string, now func() time.Time) (*envelope, error) {
	var errs []error
	e := &envelope{subject: m.Subject, text: m.Text, html: m.HTML, date: m.Date, header: map[string]string{},
		files: m.Attachments}
	for _, f := range m.Attachments {
		if f.Name == "" || strings.ContainsAny(f.Name, "\r\n\x00/\\\"") || f.ContentType == "" ||
			strings.ContainsAny(f.ContentType, "\r\n\x00") || len(f.Data) == 0 {
			errs = append(errs, invalid("attachment without a plain file name, a content type or data"))
		}
	}

	e.id = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(m.MessageID), "<"), ">")
	if err := checkMessageID(e.id); err != nil {
		errs = append(errs, err)
	}

	from := m.From
	if from == "" {
		from = defaultFrom
	}
	var err error
	if e.from, err = parseAddress(from); err != nil {
		errs = append(errs, invalid("sender address: %v", err))
	}
	if e.to, err = parseAddress(m.To); err != nil {
		errs = append(errs, invalid("recipient address: %v", err))
	}

	switch {
	case strings.TrimSpace(m.Subject) == "":
		errs = append(errs, invalid("subject is empty"))
	case !utf8.ValidString(m.Subject) || strings.ContainsAny(m.Subject, "\r\n\x00"):
		errs = append(errs, invalid("subject is not one line of UTF-8 text"))
	}
	switch {
	case strings.TrimSpace(m.Text) == "":
		errs = append(errs, invalid("text body is empty"))
	case !utf8.ValidString(m.Text) || strings.ContainsRune(m.Text, 0):
		errs = append(errs, invalid("text body is not UTF-8 text"))
	}
	if !utf8.ValidString(m.HTML) || strings.ContainsRune(m.HTML, 0) {
		errs = append(errs, invalid("HTML body is not UTF-8 text"))
	}

	for name, value := range m.Header {
		if !isFieldName(name) {
			errs = append(errs, invalid("header field name %q is not valid", name))
			continue
		}
		canonical := textproto.CanonicalMIMEHeaderKey(name)
		if slices.Contains(reservedHeaders, canonical) {
			errs = append(errs, invalid("header field %s is written by the mail package and cannot be set", canonical))
			continue
		}
		if _, dup := e.header[canonical]; dup {
			errs = append(errs, invalid("header field %s is set twice", canonical))
			continue
		}
		if !utf8.ValidString(value) || strings.ContainsAny(value, "\r\n\x00") {
			errs = append(errs, invalid("header field %s is not one line of UTF-8 text", canonical))
			continue
		}
		e.header[canonical] = value
	}
	if _, ok := e.header["Auto-Submitted"]; !ok {
		e.header["Auto-Submitted"] = "auto-generated"
	}

	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if e.date.IsZero() {
		e.date = now()
	}
	return e, nil
}

// parseAddress parses one RFC 5322 address. Its errors do not quote the input.
func parseAddress(s string) (*netmail.Address, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty")
	}
	if strings.ContainsAny(s, "\r\n\x00") {
		return nil, errors.New("contains a line break")
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, errors.New("does not parse as one address")
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || domain == "" {
		return nil, errors.New("has no domain")
	}
	return a, nil
}

// checkMessageID accepts "dot-atom-text@dot-atom-text" (RFC 5322 §3.6.4, without the obsolete and the
// domain-literal forms), at most 250 characters.
func checkMessageID(id string) error {
	if id == "" {
		return invalid("Message-ID is empty")
	}
	left, right, ok := strings.Cut(id, "@")
	if !ok || len(id) > 250 || !isDotAtom(left) || !isDotAtom(right) {
		return invalid("Message-ID is not of the form left@right")
	}
	return nil
}

// isDotAtom reports whether s is an RFC 5322 dot-atom-text.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isFieldName reports whether s is an RFC 5322 field name: printable ASCII but the colon.
func isFieldName(s string) bool {
	if s == "" || len(s) > 76 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 || s[i] == ':' {
			return false
		}
	}
	return true
}

// msg renders the envelope as a go-mail message: UTF-8, quoted-printable, no User-Agent, and a multipart
// boundary derived from the Message-ID, so that the same Message always gives the same bytes.
func (e *envelope) msg() *gomail.Msg {
	sum := sha256.Sum256([]byte(e.id))
	m := gomail.NewMsg(
		gomail.WithCharset(gomail.CharsetUTF8),
		gomail.WithEncoding(gomail.EncodingQP),
		gomail.WithNoDefaultUserAgent(),
		gomail.WithBoundary("dossier-"+hex.EncodeToString(sum[:12])),
	)
	m.SetMessageIDWithValue(e.id)
	m.SetDateWithValue(e.date)
	m.FromMailAddress(e.from)
	m.ToMailAddress(e.to)
	m.Subject(e.subject)
	for name, value := range e.header {
		m.SetGenHeader(gomail.Header(name), value)
	}
	m.SetBodyString(gomail.TypeTextPlain, e.text)
	if e.html != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, e.html)
	}
	for _, f := range e.files {
		// AttachReader reads the bytes at once; it fails only on a failing reader.
		_ = m.AttachReader(f.Name, bytes.NewReader(f.Data), gomail.WithFileContentType(gomail.ContentType(f.ContentType)))
	}
	return m
}

// Render returns m as an RFC 5322 message, exactly as both senders write it (the outbox to its file, SMTP
// after DATA). defaultFrom stands in for an empty m.From; a zero m.Date is replaced by now.
func Render(m Message, defaultFrom string, now time.Time) ([]byte, error) {
	e, err := prepare(m, defaultFrom, func() time.Time { return now })
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := e.msg().WriteTo(&b); err != nil {
		return nil, fmt.Errorf("render mail: %w", err)
	}
	return b.Bytes(), nil
}
