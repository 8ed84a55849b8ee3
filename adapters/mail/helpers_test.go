package mail_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
)

const (
	testFrom    = "Mon espace privé <ne-pas-repondre@msa.invalid>"
	testTo      = "Élodie Martin <elodie.martin@example.org>"
	testToAddr  = "elodie.martin@example.org"
	testSubject = "Votre code d'activation"
	testText    = "Bonjour Élodie,\n\nVotre code d'activation est 482913. Il expire dans 15 minutes.\n\nÀ bientôt sur votre espace privé.\n"
	testHTML    = "<p>Bonjour Élodie,</p><p>Votre code d'activation est <strong>482913</strong>.</p>"
)

// activationMessage is the kind of message the activation reaction sends, with a Message-ID derived from
// a fixed effect key.
func activationMessage(t *testing.T) mail.Message {
	t.Helper()
	key := uuid.MustParse("5b0c2f4e-8a8e-4d7e-9c31-6f1f2d0a9b11")
	return mail.Message{
		MessageID: mail.NewMessageID(key, testFrom),
		Date:      time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC),
		To:        testTo,
		Subject:   testSubject,
		Text:      testText,
		HTML:      testHTML,
		Header:    map[string]string{"Content-Language": "fr"},
	}
}

// startServer starts a test SMTP server and closes it at the end of the test.
func startServer(t *testing.T, opts smtptest.Options) *smtptest.Server {
	t.Helper()
	srv, err := smtptest.Start(opts)
	if err != nil {
		t.Fatalf("start smtp server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close smtp server: %v", err)
		}
	})
	return srv
}

// logBuffer returns a logger writing JSON lines to a buffer, to check what the package logs.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// assertNoPersonalData fails if s quotes an address, the subject or the code.
func assertNoPersonalData(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{testToAddr, "Élodie", "482913", testSubject, "Martin"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s quotes personal data %q: %s", what, secret, s)
		}
	}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
