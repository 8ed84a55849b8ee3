// Package smtptest runs a real SMTP server for tests: it listens on a free loopback port, speaks SMTP with
// go-smtp (EHLO, optional STARTTLS or implicit TLS, optional AUTH PLAIN, MAIL, RCPT, DATA), and keeps every
// message it accepts, parsed (envelope, headers, decoded subject and bodies). It can be told to refuse the
// next messages with a temporary (4xx) or permanent (5xx) reply, to test retries and poison events.
//
//	srv, err := smtptest.Start(smtptest.Options{})
//	...
//	defer srv.Close()
//	sender, _ := mail.NewSMTP(mail.SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: mail.TLSNone, From: "..."})
//	msgs, err := srv.Wait(ctx, 1)
package smtptest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	smtp "github.com/emersion/go-smtp"
)

// TLSMode is how the server protects its connections.
type TLSMode int

// The TLS modes. With StartTLS or ImplicitTLS the server uses a self-signed certificate for 127.0.0.1 and
// localhost; clients trust it through RootCAs.
const (
	NoTLS       TLSMode = iota // plain SMTP
	StartTLS                   // plain SMTP advertising STARTTLS
	ImplicitTLS                // TLS from the first byte
)

// Options configures a server. The zero value is a plain SMTP server without authentication.
type Options struct {
	TLS TLSMode
	// Username and Password, when Username is set, make AUTH PLAIN mandatory before MAIL FROM (allowed
	// without TLS: this is a test server on loopback).
	Username, Password string
}

// Stage is the command at which a refusal is answered.
type Stage int

// The stages a refusal can be answered at.
const (
	AtRcpt Stage = iota // the reply to RCPT TO: a refusal of the recipient
	AtMail              // the reply to MAIL FROM
	AtData              // the reply after the message content (end of DATA)
)

// Message is a message the server accepted.
type Message struct {
	From      string         // envelope sender (MAIL FROM)
	To        []string       // envelope recipients (RCPT TO)
	AuthUser  string         // the user that authenticated, if any
	TLS       bool           // whether the session was encrypted
	Header    netmail.Header // the header fields as received
	Subject   string         // decoded (RFC 2047)
	MessageID string         // without the angle brackets
	Date      time.Time      // parsed Date header (zero if absent or malformed)
	Text      string         // the text/plain body, transfer-decoded
	HTML      string         // the text/html body, transfer-decoded, if any
	Raw       []byte         // the message exactly as received after DATA
	ParseErr  error          // why the message could not be parsed (Raw is still there)
}

// Server is a running test SMTP server.
type Server struct {
	opts     Options
	srv      *smtp.Server
	ln       net.Listener
	roots    *x509.CertPool
	served   chan struct{}
	mu       sync.Mutex
	messages []Message
	changed  chan struct{} // closed and replaced whenever a message arrives
	refusals []refusal
	attempts int
	open     int // sessions not yet logged out
	sessions int // sessions ever opened
	maxOpen  int // most sessions open at once
}

type refusal struct {
	code  int
	stage Stage
}

// Start starts a server on a free port of 127.0.0.1. Close it when done.
func Start(opts Options) (*Server, error) {
	s := &Server{opts: opts, served: make(chan struct{}), changed: make(chan struct{})}
	srv := smtp.NewServer(&backend{s: s})
	srv.Domain = "smtptest.localhost"
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtptest: listen: %w", err)
	}
	if opts.TLS != NoTLS {
		cert, roots, err := selfSigned()
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		s.roots = roots
		tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if opts.TLS == ImplicitTLS {
			ln = tls.NewListener(ln, tc)
		} else {
			srv.TLSConfig = tc
		}
	}
	s.ln = ln
	go func() {
		defer close(s.served)
		_ = srv.Serve(ln)
	}()
	return s, nil
}

// Addr returns "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host returns "127.0.0.1".
func (s *Server) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// RootCAs returns a pool holding the server's certificate, for the client's tls.Config; nil with NoTLS.
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// Close stops the server and closes its connections.
func (s *Server) Close() error {
	err := s.srv.Close()
	// go-smtp closes the listeners Serve has registered; one that has not started yet would wait in
	// Accept for ever without this.
	_ = s.ln.Close()
	<-s.served
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	return err
}

// Refuse makes the server answer code (4xx: temporary, 5xx: permanent) at stage for the next n mail
// transactions, after those already queued. Each refused transaction uses one.
func (s *Server) Refuse(n, code int, at Stage) {
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("smtptest: Refuse with reply code %d: want 4xx or 5xx", code))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.refusals = append(s.refusals, refusal{code: code, stage: at})
	}
}

// Attempts returns how many mail transactions (MAIL FROM commands) the server has seen, refused or not.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// OpenSessions returns how many client connections are open: a client that does not close its connection
// after a failure shows here.
func (s *Server) OpenSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// Sessions returns how many client sessions were opened so far, and the most that were open at once.
func (s *Server) Sessions() (opened, maxOpen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions, s.maxOpen
}

// Messages returns the messages accepted so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Wait returns the accepted messages once there are at least n of them, or ctx's error.
func (s *Server) Wait(ctx context.Context, n int) ([]Message, error) {
	return s.WaitMatch(ctx, n, func(Message) bool { return true })
}

// WaitMatch returns the accepted messages for which match is true once there are at least n of them,
// or ctx's error.
func (s *Server) WaitMatch(ctx context.Context, n int, match func(Message) bool) ([]Message, error) {
	for {
		s.mu.Lock()
		var found []Message
		for _, m := range s.messages {
			if match(m) {
				found = append(found, m)
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if len(found) >= n {
			return found, nil
		}
		select {
		case <-ctx.Done():
			return found, fmt.Errorf("smtptest: %d of %d messages received: %w", len(found), n, ctx.Err())
		case <-changed:
		}
	}
}

// To matches the messages whose envelope recipients include addr (compared case-insensitively), for
// WaitMatch.
func To(addr string) func(Message) bool {
	return func(m Message) bool {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				return true
			}
		}
		return false
	}
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

// startTransaction counts a MAIL FROM and takes the refusal queued for it, if any.
func (s *Server) startTransaction() *refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if len(s.refusals) == 0 {
		return nil
	}
	r := s.refusals[0]
	s.refusals = s.refusals[1:]
	return &r
}

func (r *refusal) err() *smtp.SMTPError {
	class := r.code / 100
	detail := 0
	if r.stage == AtRcpt {
		detail = 1 // X.1.1: bad destination mailbox address
	}
	text := "Requested action not taken: mailbox unavailable (smtptest)"
	if class == 4 {
		text = "Requested action aborted: try again later (smtptest)"
	}
	return &smtp.SMTPError{Code: r.code, EnhancedCode: smtp.EnhancedCode{class, detail, detail}, Message: text}
}

type backend struct{ s *Server }

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	b.s.mu.Lock()
	b.s.open++
	b.s.sessions++
	b.s.maxOpen = max(b.s.maxOpen, b.s.open)
	b.s.mu.Unlock()
	return &session{s: b.s, conn: c, tls: isTLS}, nil
}

type session struct {
	s        *Server
	conn     *smtp.Conn
	tls      bool
	authUser string
	from     string
	to       []string
	refusal  *refusal
}

var _ smtp.AuthSession = (*session)(nil)

func (se *session) AuthMechanisms() []string {
	if se.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || se.s.opts.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if (identity != "" && identity != username) || username != se.s.opts.Username || password != se.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		se.authUser = username
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.opts.Username != "" && se.authUser == "" {
		// RFC 4954 §6 (go-smtp's own ErrAuthRequired answers 502).
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	if _, isTLS := se.conn.TLSConnectionState(); isTLS {
		se.tls = true // after STARTTLS
	}
	se.refusal = se.s.startTransaction()
	if se.refusal != nil && se.refusal.stage == AtMail {
		return se.refusal.err()
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if se.refusal != nil && se.refusal.stage == AtRcpt {
		return se.refusal.err()
	}
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if se.refusal != nil && se.refusal.stage == AtData {
		return se.refusal.err()
	}
	m := Parse(raw)
	m.From, m.To, m.AuthUser, m.TLS = se.from, append([]string(nil), se.to...), se.authUser, se.tls
	se.s.add(m)
	return nil
}

func (se *session) Reset() {
	se.from, se.to, se.refusal = "", nil, nil
}

func (se *session) Logout() error {
	se.s.mu.Lock()
	defer se.s.mu.Unlock()
	se.s.open--
	return nil
}

// Parse reads the parts of an RFC 5322 message a test looks at (an .eml file of the outbox, for one): the
// header, the decoded subject, the Message-ID, the date and the text and HTML bodies. It understands what
// mail senders produce: a single part or a multipart/alternative or multipart/mixed message, 7bit, 8bit,
// quoted-printable or base64, in UTF-8. The envelope fields are left empty; a failure is in ParseErr.
func Parse(raw []byte) Message {
	m := Message{Raw: raw}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		m.ParseErr = fmt.Errorf("read message: %w", err)
		return m
	}
	m.Header = msg.Header
	var dec mime.WordDecoder
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		m.ParseErr = fmt.Errorf("decode subject: %w", err)
	}
	m.MessageID = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(msg.Header.Get("Message-Id")), "<"), ">")
	m.Date, _ = msg.Header.Date()
	if err := m.readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body); err != nil && m.ParseErr == nil {
		m.ParseErr = err
	}
	return m
}

func (m *Message) readPart(contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type: %w", err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := m.readPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, &newlineSkipper{r: body})
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s body: %w", mediaType, err)
	}
	switch mediaType {
	case "text/plain":
		if m.Text == "" {
			m.Text = string(b)
		}
	case "text/html":
		if m.HTML == "" {
			m.HTML = string(b)
		}
	}
	return nil
}

// newlineSkipper drops CR and LF, which base64 bodies carry every 76 characters.
type newlineSkipper struct{ r io.Reader }

func (n *newlineSkipper) Read(p []byte) (int, error) {
	for {
		c, err := n.r.Read(p)
		j := 0
		for _, b := range p[:c] {
			if b != '\r' && b != '\n' {
				p[j] = b
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// selfSigned makes a certificate for 127.0.0.1, ::1 and localhost, valid for a day, and a pool trusting it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("smtptest: key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("smtptest: serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("smtptest: certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("smtptest: certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
