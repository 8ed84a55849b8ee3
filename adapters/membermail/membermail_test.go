package membermail_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
	"github.com/msa-dossier/dossier/adapters/membermail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/messaging/messagingtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/registration"
)

func startSMTP(t *testing.T) (*smtptest.Server, *mail.SMTP) {
	t.Helper()
	return smtptest.StartSender(t, from)
}

func started(email string) registration.Started {
	return registration.Started{NIR: "292112A004017", Key: 59, LastName: "Lefèvre", FirstName: "Élodie",
		BirthDate: "1992-11-03", Email: email, TermsVersion: "2026-11"}
}

func codeIssued(seq int, expires time.Time) registration.CodeIssued {
	return registration.CodeIssued{Sequence: seq, ExpiresAt: expires, Channel: "email", PolicyVersion: "1"}
}

// expected is a mail the test expects, by the event that caused it.
type expected struct {
	handler string
	eventID uuid.UUID
	to      string
	subject string
	code    string
	expires time.Time
}

func checkMail(t *testing.T, got smtptest.Message, want expected) {
	t.Helper()
	if !slices.Equal(got.To, []string{want.to}) || got.Subject != want.subject {
		t.Errorf("mail to %v %q, want to %s %q", got.To, got.Subject, want.to, want.subject)
	}
	if id := mail.NewMessageID(messaging.EffectKey(want.handler, want.eventID), from); got.MessageID != id {
		t.Errorf("Message-ID %q, want %q", got.MessageID, id)
	}
	if !got.Date.Equal(at) {
		t.Errorf("Date %v, want the event's business time %v", got.Date, at)
	}
	if got.Header.Get("Content-Language") != "fr" {
		t.Errorf("Content-Language %q", got.Header.Get("Content-Language"))
	}
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	local := want.expires.In(paris)
	expiry := fmt.Sprintf("%d à %d h %02d (heure de Paris)", local.Year(), local.Hour(), local.Minute())
	for _, part := range []string{"\n    " + want.code + "\n", expiry, "ignorez ce message", "Bonjour,"} {
		if !strings.Contains(strings.ReplaceAll(got.Text, "\r\n", "\n"), part) {
			t.Errorf("mail %q lacks %q:\n%s", got.Subject, part, got.Text)
		}
	}
}

func TestOneMailPerCodeEvent(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		srv, sender := startSMTP(t)
		e.start(t, sender)
		expires := at.Add(15 * time.Minute)

		// A registration with a code and a resend: two mails to the address of the form.
		regID := uuid.New()
		rs := event.NewStreamID(registration.Category, regID)
		e.write(t, rs, started("elodie@example.org"))
		_, first := e.write(t, rs, codeIssued(1, expires))
		_, resend := e.write(t, rs, codeIssued(2, expires.Add(time.Minute)))

		// A code that expired before the reaction saw it is not mailed.
		old := event.NewStreamID(registration.Category, uuid.New())
		e.write(t, old, started("old@example.org"))
		e.write(t, old, codeIssued(1, time.Now().Add(-time.Minute)))

		// A member who changed email, asks for a new one, then for a password reset, then changes email again.
		memberID := uuid.New()
		ms := event.NewStreamID(member.Category, memberID)
		e.write(t, ms, member.Registered{RegistrationID: regID, NIR: "292112A004017", Key: 59, LastName: "Lefèvre",
			FirstName: "Élodie", BirthDate: "1992-11-03", Email: "elodie@example.org"})
		e.write(t, ms, member.EmailChanged{Email: "elodie.lefevre@example.org"})
		_, change := e.write(t, ms, member.EmailChangeRequested{NewEmail: "e.lefevre@example.net", Sequence: 1,
			ExpiresAt: expires, PolicyVersion: "1"})
		resetID := uuid.New()
		_, reset := e.write(t, event.NewStreamID(member.PasswordResetCategory, resetID),
			member.ResetRequested{MemberID: memberID, Sequence: 1, ExpiresAt: expires, PolicyVersion: "1"})
		last, _ := e.write(t, ms, member.EmailChanged{Email: "later@example.org"})

		e.reached(t, last.Position)
		msgs := srv.Messages()
		if len(msgs) != 4 {
			t.Fatalf("%d mails, want 4: %+v", len(msgs), msgs)
		}
		want := map[string]expected{
			messaging.EffectKey(membermail.ActivationHandler, first).String(): {membermail.ActivationHandler, first,
				"elodie@example.org", "Votre code d'activation – Mon espace privé",
				e.code(membermail.KindActivation, regID, 1), expires},
			messaging.EffectKey(membermail.ActivationHandler, resend).String(): {membermail.ActivationHandler, resend,
				"elodie@example.org", "Votre code d'activation – Mon espace privé",
				e.code(membermail.KindActivation, regID, 2), expires.Add(time.Minute)},
			messaging.EffectKey(membermail.EmailChangeHandler, change).String(): {membermail.EmailChangeHandler, change,
				"e.lefevre@example.net", "Confirmez votre nouvelle adresse email",
				e.code(membermail.KindEmailChange, memberID, 1), expires},
			// The reset goes to the member's email when it was asked for, not to the one set afterwards.
			messaging.EffectKey(membermail.ResetHandler, reset).String(): {membermail.ResetHandler, reset,
				"elodie.lefevre@example.org", "Réinitialisation de votre mot de passe",
				e.code(membermail.KindPasswordReset, resetID, 1), expires},
		}
		for _, m := range msgs {
			key, _, _ := strings.Cut(m.MessageID, "@")
			w, ok := want[key]
			if !ok {
				t.Errorf("unexpected mail %q to %v", m.Subject, m.To)
				continue
			}
			checkMail(t, m, w)
			delete(want, key)
		}
		if len(want) != 0 {
			t.Errorf("mails not sent: %+v", want)
		}
		if c1, c2 := e.code(membermail.KindActivation, regID, 1), e.code(membermail.KindActivation, regID, 2); c1 == c2 {
			t.Errorf("a resend carries the same code")
		}

		// No address, name or code reaches the logs.
		logs := e.logs.String()
		if !strings.Contains(logs, "membermail: mail sent") {
			t.Fatalf("the reactions did not log (logs: %d bytes)", len(logs))
		}
		for _, secret := range []string{"@example.org", "@example.net", "Lefèvre", "292112A004017",
			e.code(membermail.KindActivation, regID, 1), e.code(membermail.KindEmailChange, memberID, 1),
			e.code(membermail.KindPasswordReset, resetID, 1)} {
			if strings.Contains(logs, secret) {
				t.Errorf("logs hold %q", secret)
			}
		}
	})
}

func TestRestartDoesNotResend(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		srv, sender := startSMTP(t)
		r := e.start(t, sender)
		expires := at.Add(15 * time.Minute)
		rs := event.NewStreamID(registration.Category, uuid.New())
		e.write(t, rs, started("a@example.org"))
		c, _ := e.write(t, rs, codeIssued(1, expires))
		e.reached(t, c.Position)
		if n := len(srv.Messages()); n != 1 {
			t.Fatalf("%d mails before the restart, want 1", n)
		}
		r.stop(t)

		// Events appended while the reactions are down are mailed after the restart; those mailed are not again.
		other := event.NewStreamID(registration.Category, uuid.New())
		e.write(t, other, started("b@example.org"))
		c, _ = e.write(t, other, codeIssued(1, expires))
		e.start(t, sender)
		e.reached(t, c.Position)
		msgs := srv.Messages()
		if len(msgs) != 2 || !slices.Equal(msgs[0].To, []string{"a@example.org"}) || !slices.Equal(msgs[1].To, []string{"b@example.org"}) {
			t.Fatalf("after the restart: %d mails (%v)", len(msgs), msgs)
		}
	})
}

func TestTemporaryRefusalIsRetriedThenSentOnce(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		srv, sender := startSMTP(t)
		e.start(t, sender)
		srv.Refuse(3, 451, smtptest.AtRcpt) // the relay is overloaded for a while

		rs := event.NewStreamID(registration.Category, uuid.New())
		e.write(t, rs, started("a@example.org"))
		c, _ := e.write(t, rs, codeIssued(1, at.Add(15*time.Minute)))
		e.reached(t, c.Position)
		if msgs := srv.Messages(); len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"a@example.org"}) {
			t.Fatalf("%d mails, want the one: %v", len(msgs), msgs)
		}
		if n := srv.Attempts(); n != 4 {
			t.Errorf("%d mail transactions, want 3 refused and 1 accepted", n)
		}
		if poison, err := messaging.List(ctxT(t), db, messaging.ListOptions{}); err != nil || len(poison) != 0 {
			t.Errorf("poison rows %+v, %v; want none", poison, err)
		}
	})
}

func TestPermanentRefusalIsPoisonAndTheNextMailGoes(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		srv, sender := startSMTP(t)
		e.start(t, sender)
		srv.Refuse(1, 550, smtptest.AtRcpt) // no such mailbox

		bad := event.NewStreamID(registration.Category, uuid.New())
		e.write(t, bad, started("nobody@example.org"))
		_, badEvent := e.write(t, bad, codeIssued(1, at.Add(15*time.Minute)))
		good := event.NewStreamID(registration.Category, uuid.New())
		e.write(t, good, started("a@example.org"))
		c, _ := e.write(t, good, codeIssued(1, at.Add(15*time.Minute)))
		e.reached(t, c.Position)

		if msgs := srv.Messages(); len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"a@example.org"}) {
			t.Fatalf("mails %v, want the second registration's only", msgs)
		}
		poison, err := messaging.List(ctxT(t), db, messaging.ListOptions{Handler: membermail.ActivationHandler})
		if err != nil {
			t.Fatal(err)
		}
		if len(poison) != 1 || poison[0].EventID != badEvent.String() || poison[0].Code != "mail.rejected" {
			t.Fatalf("poison %+v, want the refused mail's event", poison)
		}
		if strings.Contains(poison[0].Error, "@") {
			t.Errorf("poison row quotes an address: %q", poison[0].Error)
		}
	})
}

// The window OnceExternal cannot close: the mail went out but its key was not recorded (a crash). The event comes
// again and the mail is written again under the same Message-ID: the outbox replaces its file.
func TestRepeatAfterACrashReplacesTheOutboxFile(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		dir := filepath.Join(t.TempDir(), "outbox")
		outbox, err := mail.NewOutbox(mail.OutboxConfig{Dir: dir, From: from})
		if err != nil {
			t.Fatal(err)
		}
		r := e.start(t, outbox)
		rs := event.NewStreamID(registration.Category, uuid.New())
		e.write(t, rs, started("a@example.org"))
		c, id := e.write(t, rs, codeIssued(1, at.Add(15*time.Minute)))
		e.reached(t, c.Position)
		want := []string{mail.FileName(mail.NewMessageID(messaging.EffectKey(membermail.ActivationHandler, id), from))}
		if got := files(t, dir); !slices.Equal(got, want) {
			t.Fatalf("outbox %v, want %v", got, want)
		}
		before, err := os.ReadFile(filepath.Join(dir, want[0]))
		if err != nil {
			t.Fatal(err)
		}
		r.stop(t)

		// Forget that the mail went, and rewind the checkpoint before the event.
		if _, err := db.ExecContext(ctxT(t), db.Rebind("DELETE FROM reaction_processed WHERE handler = ?"), membermail.ActivationHandler); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctxT(t), db.Rebind("UPDATE reaction_checkpoint SET position = 0 WHERE handler = ?"), membermail.ActivationHandler); err != nil {
			t.Fatal(err)
		}
		e.start(t, outbox)
		messagingtest.Eventually(t, "the mail recorded again", func() bool {
			ok, err := messaging.Processed(ctxT(t), db, membermail.ActivationHandler, id)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		})
		e.reached(t, c.Position)
		if got := files(t, dir); !slices.Equal(got, want) {
			t.Fatalf("outbox after the repeat %v, want %v", got, want)
		}
		after, err := os.ReadFile(filepath.Join(dir, want[0]))
		if err != nil {
			t.Fatal(err)
		}
		if string(after) != string(before) {
			t.Errorf("the repeat differs from the first copy")
		}
		m := smtptest.Parse(after)
		if m.ParseErr != nil || !strings.Contains(m.Text, e.code(membermail.KindActivation, rs.ID, 1)) {
			t.Errorf("outbox mail: %v %q", m.ParseErr, m.Text)
		}
	})
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestRegisterNeedsItsDependencies(t *testing.T) {
	err := membermail.Register(nil, membermail.Deps{})
	if err == nil {
		t.Fatal("Register without dependencies succeeded")
	}
	for _, name := range []string{"DB", "Store", "Sender", "Code"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}
