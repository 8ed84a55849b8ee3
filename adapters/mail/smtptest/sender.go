package smtptest

import (
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/mail"
)

// StartSender starts a plain server (closed when t ends) and returns it with a real mail.SMTP sender to it, whose
// mails come from from: the set-up of every test of a mail reaction.
func StartSender(t testing.TB, from string) (*Server, *mail.SMTP) {
	t.Helper()
	srv, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	sender, err := mail.NewSMTP(mail.SMTPConfig{Host: srv.Host(), Port: srv.Port(), TLS: mail.TLSNone, From: from,
		Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return srv, sender
}
