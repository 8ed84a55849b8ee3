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
// timeout (a Go duration), helo. The result has no From: set it, then Validate. Errors never quote the URL
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
		default:
			errs = append(errs, fmt.Errorf("smtp url: unknown parameter %q (tls, auth, timeout, helo)", key))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return SMTPConfig{}, failure.Wrap(op, failure.Invalid, err)
	}
	return c, nil
}

// SMTP sends mails to a relay, one connection per message (mails are rare and sent one at a time by each
// reaction; a pooled connection would only add failure modes). It is safe for concurrent use.
type SMTP struct {
	cfg    SMTPConfig
	tls    *tls.Config
	logger *slog.Logger
	now    func() time.Time
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
	s := &SMTP{cfg: cfg, tls: tc, logger: cfg.Logger, now: cfg.Now}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

const opSMTPSend = "mail.SMTP.Send"

// Send delivers m to the relay. It returns once the relay has accepted the message (250 after DATA);
// a failure after that point (closing the session) is not an error, since the mail is on its way.
// Cancelling ctx closes the connection at once.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	e, err := prepare(m, s.cfg.From, s.now)
	if err != nil {
		return failure.Wrap(opSMTPSend, failure.Internal, err)
	}
	if err := ctx.Err(); err != nil {
		return failure.Wrap(opSMTPSend, failure.Internal, fmt.Errorf("%w: %w", ErrUnavailable, err))
	}
	msg := e.msg()
	start := time.Now()

	// The connection is dialled here rather than by go-mail so that cancelling ctx can close it: go-mail
	// only watches the context while dialling.
	var (
		mu   sync.Mutex
		conn net.Conn
		done bool
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		done = true
		if conn != nil {
			_ = conn.Close()
		}
	})
	defer stop()
	// go-mail leaves the connection open when the session fails before MAIL FROM (TLS, EHLO, AUTH).
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			_ = conn.Close()
		}
	}()
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
		mu.Lock()
		defer mu.Unlock()
		if done {
			_ = c.Close()
			return nil, ctx.Err()
		}
		conn = c
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
		return failure.Wrap(opSMTPSend, failure.Invalid, fmt.Errorf("smtp client options: %w", err))
	}

	err = client.DialAndSendWithContext(ctx, msg)
	if msg.IsDelivered() {
		if err != nil {
			s.logger.DebugContext(ctx, "mail accepted; closing the smtp session failed", "message_id", e.id)
		}
		s.logger.InfoContext(ctx, "mail sent", "transport", "smtp", "message_id", e.id,
			"duration", time.Since(start))
		return nil
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
