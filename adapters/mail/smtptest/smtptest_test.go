package smtptest_test

import (
	"context"
	"errors"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
)

// A message in base64, as other senders write it, sent with the standard library's client.
const base64Message = "From: Dossier <ne-pas-repondre@msa.invalid>\r\n" +
	"To: paul.durand@example.org\r\n" +
	"Subject: =?UTF-8?q?R=C3=A9initialisation_du_mot_de_passe?=\r\n" +
	"Message-ID: <0b4d3f0e-7c1a-4b61-8f5e-2a9d6c3e1f00@msa.invalid>\r\n" +
	"Date: Sat, 14 Mar 2026 09:26:53 +0000\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"Vm90cmUgY29kZSBkZSByw6lpbml0aWFsaXNhdGlvbiBlc3QgMTIzNDU2Lg==\r\n"

func TestServerReceivesAndParses(t *testing.T) {
	srv, err := smtptest.Start(smtptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	if err := smtp.SendMail(srv.Addr(), nil, "ne-pas-repondre@msa.invalid", []string{"paul.durand@example.org"}, []byte(base64Message)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	got, err := srv.WaitMatch(ctx, 1, smtptest.To("Paul.Durand@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	m := got[0]
	if m.ParseErr != nil {
		t.Fatal(m.ParseErr)
	}
	if m.Subject != "Réinitialisation du mot de passe" || m.Text != "Votre code de réinitialisation est 123456." ||
		m.MessageID != "0b4d3f0e-7c1a-4b61-8f5e-2a9d6c3e1f00@msa.invalid" || m.Date.IsZero() || m.TLS {
		t.Errorf("parsed %+v", m)
	}
	if string(m.Raw) != base64Message {
		t.Errorf("raw message changed in transit:\n%q\nwant\n%q", m.Raw, base64Message)
	}

	// Nothing else arrives: Wait gives up with the context and says how many came.
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if got, err := srv.Wait(short, 2); !errors.Is(err, context.DeadlineExceeded) || len(got) != 1 {
		t.Errorf("Wait(2) = %d messages, %v; want 1 and a deadline error", len(got), err)
	}
}

func TestServerRefusesTheNextMessages(t *testing.T) {
	srv, err := smtptest.Start(smtptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Refuse(2, 452, smtptest.AtRcpt)
	srv.Refuse(1, 550, smtptest.AtData)

	send := func() error {
		return smtp.SendMail(srv.Addr(), nil, "a@msa.invalid", []string{"b@example.org"}, []byte(base64Message))
	}
	for i, want := range []int{452, 452, 550, 0} {
		err := send()
		var te *textproto.Error
		switch {
		case want == 0 && err != nil:
			t.Errorf("send %d: %v, want accepted", i+1, err)
		case want != 0 && (!errors.As(err, &te) || te.Code != want):
			t.Errorf("send %d: %v, want reply %d", i+1, err, want)
		}
	}
	if n := len(srv.Messages()); n != 1 || srv.Attempts() != 4 {
		t.Errorf("%d messages after %d attempts, want 1 after 4", n, srv.Attempts())
	}
}

func TestServerRequiresAuthentication(t *testing.T) {
	srv, err := smtptest.Start(smtptest.Options{Username: "dossier", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	err = smtp.SendMail(srv.Addr(), nil, "a@msa.invalid", []string{"b@example.org"}, []byte(base64Message))
	if err == nil || !strings.Contains(err.Error(), "530") {
		t.Errorf("unauthenticated send: %v, want 530", err)
	}
	auth := smtp.PlainAuth("", "dossier", "s3cret", "127.0.0.1")
	if err := smtp.SendMail(srv.Addr(), auth, "a@msa.invalid", []string{"b@example.org"}, []byte(base64Message)); err != nil {
		t.Fatalf("authenticated send: %v", err)
	}
	if got := srv.Messages(); len(got) != 1 || got[0].AuthUser != "dossier" {
		t.Errorf("messages %+v, want one from dossier", got)
	}
}
