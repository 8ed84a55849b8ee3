package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/msa-dossier/dossier/domain/failure"
)

// TLSMode is how the SMTP connection is protected.
type TLSMode string

// The TLS modes.
const (
	// TLSStartTLS connects in clear and requires STARTTLS before anything else (submission, port 587).
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (submissions, port 465).
	TLSImplicit TLSMode = "implicit"
	// TLSNone never encrypts: for tests and a relay on the same host only. Credentials are then refused
	// unless the host is a loopback address.
	TLSNone TLSMode = "none"
)

// AuthMechanism is the SASL mechanism used when a username is set.
type AuthMechanism string

// The supported mechanisms: the two every relay offers.
const (
	AuthPlain AuthMechanism = "plain"
	AuthLogin AuthMechanism = "login"
)

// SMTPConfig configures an SMTP sender. The zero values of the optional fields are the defaults.
type SMTPConfig struct {
	Host string // relay host name or address; required
	Port int    // 0: 587 for STARTTLS, 465 for implicit TLS, 25 without TLS

	Username string        // empty: no authentication
	Password string        // secret: never printed (String and LogValue redact it)
	Auth     AuthMechanism // "": plain
	TLS      TLSMode       // "": starttls
	// TLSConfig is the base of the client's TLS configuration (RootCAs for a private relay, ...); it is
	// cloned, its ServerName defaults to Host and its minimum version to TLS 1.2. nil: system roots.
	TLSConfig *tls.Config

	From    string        // default author, when a Message has none; required
	HELO    string        // name given in EHLO; "": the machine's host name
	Timeout time.Duration // bound of the connection and of each command; 0: 30 s

	// Connections is how many SMTP sessions may be open at once, each sending one message at a time (sends beyond
	// it wait for a session); 0: 4. Use what the relay allows per client.
	Connections int
	// IdleTimeout is how long a session stays open without a message to send before it is closed (QUIT); 0: 1 s.
	// Sessions are reused while mails keep coming, so a burst does not pay a connection, EHLO, TLS and AUTH each.
	IdleTimeout time.Duration

	Logger *slog.Logger     // nil: discard
	Now    func() time.Time // clock for a Message without Date; nil: time.Now
}

// String describes the configuration without the password.
func (c SMTPConfig) String() string {
	user := ""
	if c.Username != "" {
		user = "user=" + c.Username + " password=****, "
	}
	return fmt.Sprintf("smtp %s (%stls=%s, timeout=%s)", net.JoinHostPort(c.Host, strconv.Itoa(c.port())), user,
		c.tlsMode(), c.timeout())
}

// LogValue makes slog print the configuration without the password.
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host), slog.Int("port", c.port()), slog.String("tls", string(c.tlsMode())),
		slog.Bool("auth", c.Username != ""), slog.Duration("timeout", c.timeout()))
}

func (c SMTPConfig) tlsMode() TLSMode {
	if c.TLS == "" {
		return TLSStartTLS
	}
	return c.TLS
}

func (c SMTPConfig) port() int {
	if c.Port != 0 {
		return c.Port
	}
	switch c.tlsMode() {
	case TLSImplicit:
		return 465
	case TLSNone:
		return 25
	default:
		return 587
	}
}

func (c SMTPConfig) timeout() time.Duration {
	if c.Timeout == 0 {
		return 30 * time.Second
	}
	return c.Timeout
}

func (c SMTPConfig) connections() int {
	if c.Connections <= 0 {
		return 4
	}
	return c.Connections
}

func (c SMTPConfig) idleTimeout() time.Duration {
	if c.IdleTimeout <= 0 {
		return time.Second
	}
	return c.IdleTimeout
}

func (c SMTPConfig) auth() AuthMechanism {
	if c.Auth == "" {
		return AuthPlain
	}
	return c.Auth
}

// Validate reports every problem of the configuration at once, without quoting the password.
func (c SMTPConfig) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.Host != "" && !strings.ContainsAny(c.Host, " /\\@"), "smtp host must be a host name or an address")
	check(c.Port >= 0 && c.Port <= 65535, "smtp port %d is out of range", c.Port)
	mode := c.tlsMode()
	check(mode == TLSStartTLS || mode == TLSImplicit || mode == TLSNone, "smtp tls mode %q: want starttls, implicit or none", c.TLS)
	check(c.auth() == AuthPlain || c.auth() == AuthLogin, "smtp auth %q: want plain or login", c.Auth)
	check(c.Password == "" || c.Username != "", "smtp password is set without a username")
	check(c.Username == "" || mode != TLSNone || isLoopback(c.Host),
		"smtp credentials would cross the network in clear: use tls=starttls or tls=implicit (tls=none allows credentials only to a loopback host)")
	_, err := parseAddress(c.From)
	check(err == nil, "mail from address: %v", err)
	check(c.Timeout >= 0, "smtp timeout must not be negative")
	check(c.Connections >= 0, "smtp connections must not be negative")
	check(c.IdleTimeout >= 0, "smtp idle timeout must not be negative")
	if err := errors.Join(errs...); err != nil {
		return failure.Wrap("mail.SMTPConfig.Validate", failure.Invalid, err)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseSMTPURL reads a relay's URL, smtp://user:password@host:port?tls=starttls&auth=plain&timeout=30s&helo=name
// (scheme smtps: implicit TLS by default). Parameters: tls (none, starttls, implicit), auth (plain, login),
// timeout (a Go duration), helo, connections (sessions open at once), idle (how long an idle session stays open). The result has no From: set it, then Validate. Errors never quote the URL
// (it holds a password).
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	const op = "mail.ParseSMTPURL"
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, failure.Wrap(op, failure.Invalid, errors.New("smtp url does not parse"))
	}
	var c SMTPConfig
	switch u.Scheme {
	case "smtp":
		c.TLS = TLSStartTLS
	case "smtps":
		c.TLS = TLSImplicit
	default:
		return SMTPConfig{}, failure.Wrap(op, failure.Invalid, errors.New("smtp url: scheme must be smtp or smtps"))
	}
	var errs []error
	c.Host = u.Hostname()
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil {
			errs = append(errs, errors.New("smtp url: port is not a number"))
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	for key, values := range u.Query() {
		v := values[len(values)-1]
		switch key {
		case "tls":
			c.TLS = TLSMode(strings.ToLower(v))
		case "auth":
			c.Auth = AuthMechanism(strings.ToLower(v))
		case "timeout":
			if c.Timeout, err = time.ParseDuration(v); err != nil {
				errs = append(errs, errors.New("smtp url: timeout is not a duration (30s, 1m)"))
			}
		case "helo":
			c.HELO = v
		case "connections":
			if c.Connections, err = strconv.Atoi(v); err != nil || c.Connections < 1 {
				errs = append(errs, errors.New("smtp url: connections is not a positive number"))
			}
		case "idle":
			if c.IdleTimeout, err = time.ParseDuration(v); err != nil {
				errs = append(errs, errors.New("smtp url: idle is not a duration (1s, 30s)"))
			}
		default:
			errs = append(errs, fmt.Errorf("smtp url: unknown parameter %q (tls, auth, timeout, helo, connections, idle)", key))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return SMTPConfig{}, failure.Wrap(op, failure.Invalid, err)
	}
	return c, nil
}

// SMTP sends mails to a relay over a small pool of sessions: up to Connections sessions at once, each sending one
// message at a time, reused while mails keep coming and closed after IdleTimeout without one. A session that fails
// is closed, never reused; a reused session the relay has dropped meanwhile (its NOOP fails) is replaced by a new one
// for the same message. It is safe for concurrent use.
type SMTP struct {
	cfg    SMTPConfig
	tls    *tls.Config
	logger *slog.Logger
	now    func() time.Time

	slots chan struct{} // one token per open session (or session being dialled)
	mu    sync.Mutex
	idle  []*session // open sessions waiting for a message, most recently used last
}

var _ Sender = (*SMTP)(nil)

// NewSMTP returns a sender for the relay cfg names, after validating cfg. It does not connect.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tc := &tls.Config{}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = cfg.Host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	s := &SMTP{cfg: cfg, tls: tc, logger: cfg.Logger, now: cfg.Now, slots: make(chan struct{}, cfg.connections())}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

const opSMTPSend = "mail.SMTP.Send"

// session is one open SMTP session: a go-mail client, its protocol client and its connection.
type session struct {
	client *gomail.Client
	smtp   *gosmtp.Client
	conn   net.Conn
	used   time.Time // when it was last given back idle
	// connMu guards conn and cancelled while dialling (a cancelled context closes the connection under go-mail).
	connMu    sync.Mutex
	cancelled bool
	reused    bool // it has sent a message before
	timer     *time.Timer
}

// close ends the session (QUIT if polite, then the connection) and frees its slot.
func (s *SMTP) close(sess *session, polite bool) {
	if polite {
		_ = sess.conn.SetDeadline(time.Now().Add(s.cfg.timeout()))
		_ = sess.client.CloseWithSMTPClient(sess.smtp)
	}
	_ = sess.conn.Close()
	<-s.slots
}

// take returns an idle session, or a new one when fewer than Connections are open, waiting for either until ctx
// ends.
func (s *SMTP) take(ctx context.Context) (*session, error) {
	for {
		s.mu.Lock()
		if n := len(s.idle); n > 0 {
			sess := s.idle[n-1]
			s.idle = s.idle[:n-1]
			s.mu.Unlock()
			if sess.timer.Stop() {
				return sess, nil
			}
			continue // its idle timer fired meanwhile and is closing it
		}
		s.mu.Unlock()
		select {
		case s.slots <- struct{}{}:
			sess, err := s.dial(ctx)
			if err != nil {
				<-s.slots
				return nil, err
			}
			return sess, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond): // a session may have come back idle meanwhile
		}
	}
}

// giveBack makes sess idle; it is closed after IdleTimeout unless taken before.
func (s *SMTP) giveBack(sess *session) {
	sess.used, sess.reused = time.Now(), true
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.timer = time.AfterFunc(s.cfg.idleTimeout(), func() {
		s.mu.Lock()
		for i, x := range s.idle {
			if x == sess {
				s.idle = append(s.idle[:i], s.idle[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		s.close(sess, true)
	})
	s.idle = append(s.idle, sess)
}

// Close ends the idle sessions (sessions sending end when their message is sent).
func (s *SMTP) Close() error {
	s.mu.Lock()
	idle := s.idle
	s.idle = nil
	s.mu.Unlock()
	for _, sess := range idle {
		if sess.timer.Stop() {
			s.close(sess, true)
		}
	}
	return nil
}

// dial opens a session: connection (and implicit TLS), greeting, EHLO, STARTTLS and AUTH as configured.
func (s *SMTP) dial(ctx context.Context) (*session, error) {
	sess := &session{}
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		if s.cfg.tlsMode() == TLSImplicit {
			tc := tls.Client(c, s.tls)
			if err := tc.HandshakeContext(dctx); err != nil {
				_ = c.Close()
				return nil, err
			}
			c = tc
		}
		sess.connMu.Lock()
		defer sess.connMu.Unlock()
		if sess.cancelled {
			_ = c.Close()
			return nil, ctx.Err()
		}
		sess.conn = c
		return c, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.port()),
		gomail.WithTimeout(s.cfg.timeout()),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(s.tls),
		// Implicit TLS is done by dial above; STARTTLS is then neither needed nor possible.
		gomail.WithTLSPolicy(gomail.TLSMandatory),
	}
	if s.cfg.tlsMode() != TLSStartTLS {
		opts[len(opts)-1] = gomail.WithTLSPolicy(gomail.NoTLS)
	}
	if s.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(s.cfg.HELO))
	}
	if s.cfg.Username != "" {
		mech := gomail.SMTPAuthPlain
		if s.cfg.auth() == AuthLogin {
			mech = gomail.SMTPAuthLogin
		}
		opts = append(opts, gomail.WithSMTPAuth(mech), gomail.WithUsername(s.cfg.Username),
			gomail.WithPassword(s.cfg.Password))
	}
	client, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		// Only a bad option can fail here, and Validate checked them.
		return nil, failure.Wrap(opSMTPSend, failure.Invalid, fmt.Errorf("smtp client options: %w", err))
	}
	sess.client = client
	// go-mail only watches the context while dialling: cancelling ctx later must close the connection (below).
	closeConn := func() {
		sess.connMu.Lock()
		defer sess.connMu.Unlock()
		sess.cancelled = true
		if sess.conn != nil {
			_ = sess.conn.Close()
		}
	}
	stop := context.AfterFunc(ctx, closeConn)
	sc, err := client.DialToSMTPClientWithContext(ctx)
	stop()
	if err != nil {
		// go-mail leaves the connection open when the session fails before MAIL FROM (TLS, EHLO, AUTH).
		closeConn()
		return nil, err
	}
	sess.smtp = sc
	return sess, nil
}

// Send delivers m to the relay. It returns once the relay has accepted the message (250 after DATA); a failure
// after that point (resetting the session) is not an error, since the mail is on its way. Cancelling ctx closes the
// session at once.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	e, err := prepare(m, s.cfg.From, s.now)
	if err != nil {
		return failure.Wrap(opSMTPSend, failure.Internal, err)
	}
	if err := ctx.Err(); err != nil {
		return failure.Wrap(opSMTPSend, failure.Internal, fmt.Errorf("%w: %w", ErrUnavailable, err))
	}
	start := time.Now()
	for {
		msg := e.msg()
		sess, err := s.take(ctx)
		reused := false
		if err == nil {
			reused = sess.reused // read before sendOn gives the session back to others
			err = s.sendOn(ctx, sess, msg)
		}
		if msg.IsDelivered() {
			if err != nil {
				s.logger.DebugContext(ctx, "mail accepted; resetting the smtp session failed", "message_id", e.id)
			}
			s.logger.InfoContext(ctx, "mail sent", "transport", "smtp", "message_id", e.id,
				"duration", time.Since(start), "reused_session", reused)
			return nil
		}
		var se *gomail.SendError
		if reused && errors.As(err, &se) && se.Reason == gomail.ErrConnCheck && ctx.Err() == nil {
			// The relay closed the idle session (its NOOP failed) before anything of this message was sent.
			s.logger.DebugContext(ctx, "idle smtp session closed by the relay; opening another", "message_id", e.id)
			continue
		}
		if err == nil {
			// go-mail reports success without marking the message delivered only if it skipped it.
			err = errors.New("message not delivered")
		}
		derr := classify(ctx, err)
		sentinel := ErrUnavailable
		if derr.Permanent() {
			sentinel = ErrRejected
		}
		s.logger.WarnContext(ctx, "mail not sent", "transport", "smtp", "message_id", e.id, "stage", derr.Stage,
			"smtp_code", derr.Code, "smtp_enhanced_code", derr.EnhancedCode, "kind", failure.KindOf(sentinel).String())
		return failure.Wrap(opSMTPSend, failure.Internal, fmt.Errorf("%w: %w", sentinel, derr))
	}
}

// sendOn sends msg on sess, then gives sess back idle if it can be reused, else closes it. A refusal of this message
// (4xx/5xx at MAIL FROM, RCPT TO or DATA, after which go-mail has reset the transaction) leaves the session usable.
func (s *SMTP) sendOn(ctx context.Context, sess *session, msg *gomail.Msg) error {
	var cancelled bool
	var cmu sync.Mutex
	stop := context.AfterFunc(ctx, func() {
		cmu.Lock()
		cancelled = true
		cmu.Unlock()
		_ = sess.conn.Close()
	})
	err := sess.client.SendWithSMTPClient(sess.smtp, msg)
	stopped := stop()
	cmu.Lock()
	broken := cancelled || !stopped
	cmu.Unlock()
	var se *gomail.SendError
	reusable := !broken && (err == nil || (errors.As(err, &se) && se.ErrorCode() != 0 && se.Reason != gomail.ErrConnCheck &&
		se.Reason != gomail.ErrSMTPReset && se.Reason != gomail.ErrWriteContent && se.Reason != gomail.ErrSMTPDataClose))
	if reusable {
		s.giveBack(sess)
	} else {
		s.close(sess, !broken && err == nil)
	}
	return err
}

// DeliveryError describes why a relay did not take a message, without personal data: the stage of the
// exchange and the reply codes, never the reply text (it often quotes the address) nor the addresses.
// The underlying error stays reachable with errors.As and errors.Is (a *net.OpError, a context error, ...).
type DeliveryError struct {
	Stage        string // "connect" (dial, TLS, greeting, EHLO, AUTH), "MAIL FROM", "RCPT TO", "DATA", ...
	Code         int    // SMTP reply code; 0 when the server did not answer one
	EnhancedCode string // RFC 3463 code ("5.1.1") when the server gave one
	err          error
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	b.WriteString("smtp ")
	b.WriteString(e.Stage)
	switch {
	case e.Code != 0:
		fmt.Fprintf(&b, ": reply %d", e.Code)
		if e.EnhancedCode != "" {
			b.WriteString(" " + e.EnhancedCode)
		}
	case errors.Is(e.err, context.Canceled):
		b.WriteString(": cancelled")
	case errors.Is(e.err, context.DeadlineExceeded) || isTimeout(e.err):
		b.WriteString(": timed out")
	default:
		var op *net.OpError
		if errors.As(e.err, &op) {
			b.WriteString(": network error (" + op.Op + ")")
		}
	}
	return b.String()
}

// Unwrap returns the underlying error (its text may quote addresses: do not log it).
func (e *DeliveryError) Unwrap() error { return e.err }

// Permanent reports whether the relay refused the message itself for good: a 5xx reply to RCPT TO or to
// the message's content. A 5xx elsewhere (MAIL FROM, AUTH, the greeting) is about this server's
// configuration, not about the message: it is not permanent, so that mails wait until it is fixed rather
// than being given up one by one.
func (e *DeliveryError) Permanent() bool {
	if e.Code < 500 || e.Code > 599 {
		return false
	}
	switch e.Stage {
	case "RCPT TO", "DATA", "message":
		return true
	}
	return false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// classify turns go-mail's error into a DeliveryError.
func classify(ctx context.Context, err error) *DeliveryError {
	if cerr := ctx.Err(); cerr != nil {
		// The connection was closed under go-mail: its error says "use of closed connection".
		return &DeliveryError{Stage: "connect", err: errors.Join(cerr, err)}
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		d := &DeliveryError{Code: se.ErrorCode(), EnhancedCode: se.EnhancedStatusCode(), err: err}
		switch se.Reason {
		case gomail.ErrSMTPMailFrom:
			d.Stage = "MAIL FROM"
		case gomail.ErrSMTPRcptTo:
			d.Stage = "RCPT TO"
		case gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
			d.Stage = "DATA"
		case gomail.ErrWriteContent:
			d.Stage = "message"
		case gomail.ErrSMTPReset:
			d.Stage = "RSET"
		default:
			d.Stage = "session"
		}
		return d
	}
	d := &DeliveryError{Stage: "connect", err: err}
	var te *textproto.Error
	if errors.As(err, &te) {
		d.Code = te.Code
		if f := strings.Fields(te.Msg); len(f) > 0 && isEnhancedCode(f[0]) {
			d.EnhancedCode = f[0]
		}
	}
	return d
}

// isEnhancedCode reports whether s looks like an RFC 3463 status code ("4.7.0").
func isEnhancedCode(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return false
	}
	for _, p := range parts[1:] {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 999 {
			return false
		}
	}
	return true
}
