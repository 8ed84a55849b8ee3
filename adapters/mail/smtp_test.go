package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
	"github.com/msa-dossier/dossier/domain/failure"
)

// newSMTP returns a sender to srv without TLS.
func newSMTP(t *testing.T, srv *smtptest.Server, mutate ...func(*mail.SMTPConfig)) *mail.SMTP {
	t.Helper()
	cfg := mail.SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: mail.TLSNone, From: testFrom, Timeout: 5 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := mail.NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

func TestSMTPSendDeliversTheFrenchMessage(t *testing.T) {
	srv := startServer(t, smtptest.Options{Username: "dossier", Password: "s3cret-relay"})
	logger, logs := logBuffer()
	sender := newSMTP(t, srv, func(c *mail.SMTPConfig) {
		c.Username, c.Password, c.Logger = "dossier", "s3cret-relay", logger
	})
	msg := activationMessage(t)
	ctx := testContext(t)

	if err := sender.Send(ctx, msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got, err := srv.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	m := got[0]
	if m.ParseErr != nil {
		t.Fatalf("received message does not parse: %v", m.ParseErr)
	}
	if m.From != "ne-pas-repondre@msa.invalid" || len(m.To) != 1 || m.To[0] != testToAddr {
		t.Errorf("envelope from %q to %q, want ne-pas-repondre@msa.invalid to [%s]", m.From, m.To, testToAddr)
	}
	if m.AuthUser != "dossier" {
		t.Errorf("authenticated user %q, want dossier", m.AuthUser)
	}
	if m.Subject != testSubject {
		t.Errorf("subject %q, want %q", m.Subject, testSubject)
	}
	if m.MessageID != msg.MessageID {
		t.Errorf("Message-ID %q, want %q", m.MessageID, msg.MessageID)
	}
	if !m.Date.Equal(msg.Date) {
		t.Errorf("Date %v, want %v", m.Date, msg.Date)
	}
	if !strings.Contains(m.Text, "Votre code d'activation est 482913") || !strings.Contains(m.Text, "À bientôt") {
		t.Errorf("text body does not hold the French text: %q", m.Text)
	}
	if strings.ReplaceAll(m.Text, "\r\n", "\n") != testText {
		t.Errorf("text body %q, want %q", m.Text, testText)
	}
	if m.HTML != testHTML {
		t.Errorf("HTML body %q, want %q", m.HTML, testHTML)
	}
	from, err := m.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Mon espace privé" || from[0].Address != "ne-pas-repondre@msa.invalid" {
		t.Errorf("From header %v (%v), want Mon espace privé <ne-pas-repondre@msa.invalid>", from, err)
	}
	to, err := m.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Élodie Martin" || to[0].Address != testToAddr {
		t.Errorf("To header %v (%v), want %s", to, err, testTo)
	}
	for name, want := range map[string]string{"Auto-Submitted": "auto-generated", "Content-Language": "fr", "Mime-Version": "1.0"} {
		if got := m.Header.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
		t.Errorf("Content-Type %q, want multipart/alternative", ct)
	}
	if m.Header.Get("User-Agent") != "" || m.Header.Get("X-Mailer") != "" {
		t.Errorf("mail names its software: User-Agent %q, X-Mailer %q", m.Header.Get("User-Agent"), m.Header.Get("X-Mailer"))
	}
	if !strings.Contains(logs.String(), msg.MessageID) {
		t.Errorf("log does not name the Message-ID: %s", logs)
	}
	assertNoPersonalData(t, "log", logs.String())
}

// The SMTP exchange carries exactly the bytes the outbox writes and Render returns.
func TestSMTPAndOutboxWriteTheSameMessage(t *testing.T) {
	srv := startServer(t, smtptest.Options{})
	sender := newSMTP(t, srv)
	dir := t.TempDir()
	outbox, err := mail.NewOutbox(mail.OutboxConfig{Dir: dir, From: testFrom})
	if err != nil {
		t.Fatal(err)
	}
	msg := activationMessage(t)
	ctx := testContext(t)
	if err := sender.Send(ctx, msg); err != nil {
		t.Fatalf("SMTP Send: %v", err)
	}
	if err := outbox.Send(ctx, msg); err != nil {
		t.Fatalf("Outbox Send: %v", err)
	}
	got, err := srv.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(dir, mail.FileName(msg.MessageID)))
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := mail.Render(msg, testFrom, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0].Raw) != string(file) {
		t.Errorf("SMTP and outbox differ:\n--- smtp\n%s\n--- outbox\n%s", got[0].Raw, file)
	}
	if string(rendered) != string(file) {
		t.Errorf("Render and outbox differ:\n--- render\n%s\n--- outbox\n%s", rendered, file)
	}
}

func TestSMTPTemporaryRefusalIsUnavailableAndARetryDelivers(t *testing.T) {
	for _, stage := range []struct {
		name string
		at   smtptest.Stage
		want string
	}{{"rcpt", smtptest.AtRcpt, "RCPT TO"}, {"data", smtptest.AtData, "DATA"}, {"mail", smtptest.AtMail, "MAIL FROM"}} {
		t.Run(stage.name, func(t *testing.T) {
			srv := startServer(t, smtptest.Options{})
			logger, logs := logBuffer()
			sender := newSMTP(t, srv, func(c *mail.SMTPConfig) { c.Logger = logger })
			srv.Refuse(1, 451, stage.at)
			ctx := testContext(t)

			err := sender.Send(ctx, activationMessage(t))
			if err == nil {
				t.Fatal("Send succeeded, want a temporary failure")
			}
			if k := failure.KindOf(err); k != failure.Unavailable {
				t.Errorf("kind %v, want unavailable (%v)", k, err)
			}
			if !errors.Is(err, mail.ErrUnavailable) || failure.CodeOf(err) != "mail.unavailable" {
				t.Errorf("error %v (code %s) is not ErrUnavailable", err, failure.CodeOf(err))
			}
			var derr *mail.DeliveryError
			if !errors.As(err, &derr) || derr.Code != 451 || derr.Stage != stage.want || derr.Permanent() {
				t.Errorf("delivery error %+v, want code 451 at %s, not permanent", derr, stage.want)
			}
			assertNoPersonalData(t, "error", err.Error())
			assertNoPersonalData(t, "log", logs.String())

			// What the reaction router does: deliver the event again.
			if err := sender.Send(ctx, activationMessage(t)); err != nil {
				t.Fatalf("retry: %v", err)
			}
			got, err := srv.Wait(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || srv.Attempts() != 2 {
				t.Errorf("%d messages received after %d attempts, want 1 after 2", len(got), srv.Attempts())
			}
			waitNoSessions(t, srv)
		})
	}
}

func TestSMTPPermanentRefusalIsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name     string
		code     int
		at       smtptest.Stage
		stage    string
		enhanced string
	}{
		{"unknown mailbox", 550, smtptest.AtRcpt, "RCPT TO", "5.1.1"},
		{"content refused", 554, smtptest.AtData, "DATA", "5.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, smtptest.Options{})
			sender := newSMTP(t, srv)
			srv.Refuse(1, tc.code, tc.at)

			err := sender.Send(testContext(t), activationMessage(t))
			if err == nil {
				t.Fatal("Send succeeded, want a permanent failure")
			}
			if k := failure.KindOf(err); k != failure.Invalid {
				t.Errorf("kind %v, want invalid (%v)", k, err)
			}
			if !errors.Is(err, mail.ErrRejected) || failure.CodeOf(err) != "mail.rejected" {
				t.Errorf("error %v (code %s) is not ErrRejected", err, failure.CodeOf(err))
			}
			var derr *mail.DeliveryError
			if !errors.As(err, &derr) || derr.Code != tc.code || derr.Stage != tc.stage || derr.EnhancedCode != tc.enhanced || !derr.Permanent() {
				t.Errorf("delivery error %+v, want %d %s at %s, permanent", derr, tc.code, tc.enhanced, tc.stage)
			}
			// The server's reply text quotes nothing here, but the error must not carry reply texts at all.
			if strings.Contains(err.Error(), "smtptest") {
				t.Errorf("error carries the server's reply text: %v", err)
			}
			assertNoPersonalData(t, "error", err.Error())
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("%d messages accepted, want 0", n)
			}
		})
	}
}

// A 5xx to MAIL FROM refuses this server's sender, not the member's address: mails wait for the fix.
func TestSMTPPermanentRefusalOfTheSenderIsUnavailable(t *testing.T) {
	srv := startServer(t, smtptest.Options{})
	sender := newSMTP(t, srv)
	srv.Refuse(1, 553, smtptest.AtMail)
	err := sender.Send(testContext(t), activationMessage(t))
	if k := failure.KindOf(err); k != failure.Unavailable {
		t.Errorf("kind %v, want unavailable (%v)", k, err)
	}
}

func TestSMTPWrongPasswordIsUnavailable(t *testing.T) {
	srv := startServer(t, smtptest.Options{Username: "dossier", Password: "right"})
	sender := newSMTP(t, srv, func(c *mail.SMTPConfig) { c.Username, c.Password = "dossier", "wrong-password" })
	err := sender.Send(testContext(t), activationMessage(t))
	if k := failure.KindOf(err); k != failure.Unavailable {
		t.Fatalf("kind %v, want unavailable (%v)", k, err)
	}
	var derr *mail.DeliveryError
	if !errors.As(err, &derr) || derr.Code != 535 || derr.Stage != "connect" {
		t.Errorf("delivery error %+v, want 535 at connect", derr)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("error quotes the password: %v", err)
	}
	if srv.Attempts() != 0 {
		t.Errorf("server saw %d transactions, want 0", srv.Attempts())
	}
	waitNoSessions(t, srv)
}

// waitNoSessions fails if the client leaves its connection open after Send returned.
func waitNoSessions(t *testing.T, srv *smtptest.Server) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for srv.OpenSessions() != 0 {
		if time.Now().After(deadline) {
			t.Errorf("%d connections left open after Send returned", srv.OpenSessions())
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSMTPConnectionRefusedIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	sender, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: mail.TLSNone, From: testFrom})
	if err != nil {
		t.Fatal(err)
	}
	err = sender.Send(testContext(t), activationMessage(t))
	if k := failure.KindOf(err); k != failure.Unavailable {
		t.Fatalf("kind %v, want unavailable (%v)", k, err)
	}
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("the network error is not reachable with errors.As: %v", err)
	}
}

// silentServer accepts connections and never says a word, like a relay that hangs.
func silentServer(t *testing.T) (host string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(done)
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	a := ln.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

func TestSMTPTimeoutIsUnavailable(t *testing.T) {
	host, port := silentServer(t)
	sender, err := mail.NewSMTP(mail.SMTPConfig{Host: host, Port: port, TLS: mail.TLSNone, From: testFrom, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = sender.Send(testContext(t), activationMessage(t))
	if k := failure.KindOf(err); k != failure.Unavailable {
		t.Fatalf("kind %v, want unavailable (%v)", k, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %v with a 200ms timeout", d)
	}
	if !strings.Contains(err.Error(), "timed out") {
		t.Errorf("error %q does not say it timed out", err)
	}
}

func TestSMTPCancelledContextStopsTheExchange(t *testing.T) {
	host, port := silentServer(t)
	sender, err := mail.NewSMTP(mail.SMTPConfig{Host: host, Port: port, TLS: mail.TLSNone, From: testFrom, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	err = sender.Send(ctx, activationMessage(t))
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Send took %v after its context was cancelled", d)
	}
	if k := failure.KindOf(err); k != failure.Unavailable {
		t.Errorf("kind %v, want unavailable (%v)", k, err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v is not context.Canceled", err)
	}
}

func TestSMTPOverTLS(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server smtptest.TLSMode
		client mail.TLSMode
	}{
		{"starttls", smtptest.StartTLS, mail.TLSStartTLS},
		{"implicit", smtptest.ImplicitTLS, mail.TLSImplicit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, smtptest.Options{TLS: tc.server, Username: "dossier", Password: "s3cret"})
			sender := newSMTP(t, srv, func(c *mail.SMTPConfig) {
				c.TLS, c.TLSConfig = tc.client, &tls.Config{RootCAs: srv.RootCAs()}
				c.Username, c.Password = "dossier", "s3cret"
			})
			ctx := testContext(t)
			if err := sender.Send(ctx, activationMessage(t)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got, err := srv.Wait(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !got[0].TLS || got[0].AuthUser != "dossier" || got[0].Subject != testSubject {
				t.Errorf("received over TLS=%v as %q with subject %q", got[0].TLS, got[0].AuthUser, got[0].Subject)
			}
		})
	}
}

func TestSMTPStartTLSIsRequired(t *testing.T) {
	srv := startServer(t, smtptest.Options{}) // no STARTTLS offered
	sender := newSMTP(t, srv, func(c *mail.SMTPConfig) { c.TLS = mail.TLSStartTLS })
	err := sender.Send(testContext(t), activationMessage(t))
	if k := failure.KindOf(err); k != failure.Unavailable {
		t.Fatalf("kind %v, want unavailable (%v)", k, err)
	}
	if srv.Attempts() != 0 {
		t.Errorf("the message went out in clear: %d transactions", srv.Attempts())
	}
	waitNoSessions(t, srv)
}

func TestSMTPUntrustedCertificateIsUnavailable(t *testing.T) {
	srv := startServer(t, smtptest.Options{TLS: smtptest.ImplicitTLS})
	sender := newSMTP(t, srv, func(c *mail.SMTPConfig) { c.TLS = mail.TLSImplicit }) // system roots only
	err := sender.Send(testContext(t), activationMessage(t))
	if k := failure.KindOf(err); k != failure.Unavailable {
		t.Fatalf("kind %v, want unavailable (%v)", k, err)
	}
	if srv.Attempts() != 0 {
		t.Errorf("server saw %d transactions, want 0", srv.Attempts())
	}
}

func TestSMTPInvalidMessageIsInvalidAndNotSent(t *testing.T) {
	srv := startServer(t, smtptest.Options{})
	sender := newSMTP(t, srv)
	msg := activationMessage(t)
	msg.To = "elodie.martin at example.org"
	err := sender.Send(testContext(t), msg)
	if k := failure.KindOf(err); k != failure.Invalid {
		t.Fatalf("kind %v, want invalid (%v)", k, err)
	}
	if !errors.Is(err, mail.ErrInvalidMessage) {
		t.Errorf("error %v is not ErrInvalidMessage", err)
	}
	if strings.Contains(err.Error(), "elodie") {
		t.Errorf("error quotes the address: %v", err)
	}
	if srv.Attempts() != 0 {
		t.Errorf("server saw %d transactions, want 0", srv.Attempts())
	}
}

// Sends from several goroutines at once each get their own connection.
func TestSMTPConcurrentSends(t *testing.T) {
	srv := startServer(t, smtptest.Options{})
	sender := newSMTP(t, srv)
	ctx := testContext(t)
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			msg := activationMessage(t)
			msg.MessageID = strings.Replace(msg.MessageID, "5b0c", "000"+string(rune('0'+i)), 1)
			errs <- sender.Send(ctx, msg)
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	got, err := srv.Wait(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range got {
		ids[m.MessageID] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct Message-IDs among %d messages, want %d", len(ids), len(got), n)
	}
}

// TestSMTPReusesSessionsAndSendsInParallel is issue 12's mail defect (one connection per mail, about 9 mails/s):
// mails sent one after the other go over one session, concurrent ones over at most Connections sessions, and the
// idle sessions are closed after IdleTimeout.
func TestSMTPReusesSessionsAndSendsInParallel(t *testing.T) {
	srv := startServer(t, smtptest.Options{})
	sender := newSMTP(t, srv, func(c *mail.SMTPConfig) { c.Connections, c.IdleTimeout = 3, 500*time.Millisecond })
	ctx := testContext(t)
	msgs := func(n, offset int) []mail.Message {
		out := make([]mail.Message, n)
		for i := range out {
			out[i] = activationMessage(t)
			out[i].MessageID = mail.NewMessageID(uuid.NewSHA1(uuid.Nil, []byte(fmt.Sprint(offset+i))), testFrom)
		}
		return out
	}
	const sequential = 40
	start := time.Now()
	for _, m := range msgs(sequential, 0) {
		if err := sender.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d mails one after the other in %s (%.0f/s)", sequential, time.Since(start).Round(time.Millisecond),
		sequential/time.Since(start).Seconds())
	if opened, _ := srv.Sessions(); opened != 1 {
		t.Errorf("%d sessions opened for %d mails sent one after the other, want 1", opened, sequential)
	}

	const concurrent = 30
	errs := make(chan error, concurrent)
	for _, m := range msgs(concurrent, sequential) {
		go func() { errs <- sender.Send(ctx, m) }()
	}
	for range concurrent {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	got, err := srv.Wait(ctx, sequential+concurrent)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range got {
		ids[m.MessageID] = true
	}
	if len(ids) != sequential+concurrent || len(got) != sequential+concurrent {
		t.Errorf("%d messages, %d distinct, want %d", len(got), len(ids), sequential+concurrent)
	}
	if opened, maxOpen := srv.Sessions(); maxOpen > 3 || opened > 3 || maxOpen < 2 {
		t.Errorf("%d sessions opened, at most %d at once; want 2 or 3 (Connections 3)", opened, maxOpen)
	}
	waitNoSessions(t, srv) // closed after IdleTimeout
}

// BenchmarkSMTPSend sends mails one after the other to the test SMTP server, in clear and over STARTTLS with AUTH
// (as to a production relay): over a reused session, and with a new session per mail (an idle timeout of a
// nanosecond: what Send did before issue 12).
func BenchmarkSMTPSend(b *testing.B) {
	for _, secure := range []bool{false, true} {
		for _, bc := range []struct {
			name string
			idle time.Duration
		}{{"reused-session", time.Minute}, {"session-per-mail", time.Nanosecond}} {
			name := "clear/" + bc.name
			if secure {
				name = "starttls-auth/" + bc.name
			}
			b.Run(name, func(b *testing.B) {
				opts := smtptest.Options{}
				if secure {
					opts = smtptest.Options{TLS: smtptest.StartTLS, Username: "dossier", Password: "s3cret"}
				}
				srv, err := smtptest.Start(opts)
				if err != nil {
					b.Fatal(err)
				}
				defer srv.Close()
				cfg := mail.SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: mail.TLSNone, From: testFrom, IdleTimeout: bc.idle}
				if secure {
					cfg.TLS, cfg.TLSConfig = mail.TLSStartTLS, &tls.Config{RootCAs: srv.RootCAs()}
					cfg.Username, cfg.Password = "dossier", "s3cret"
				}
				sender, err := mail.NewSMTP(cfg)
				if err != nil {
					b.Fatal(err)
				}
				defer sender.Close()
				ctx := context.Background()
				key := uuid.MustParse("5b0c2f4e-8a8e-4d7e-9c31-6f1f2d0a9b11")
				for i := 0; b.Loop(); i++ {
					m := mail.Message{MessageID: mail.NewMessageID(uuid.NewSHA1(key, []byte(fmt.Sprint(i))), testFrom),
						Date: time.Now(), To: testTo, Subject: testSubject, Text: testText}
					if err := sender.Send(ctx, m); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mails/s")
			})
		}
	}
}
