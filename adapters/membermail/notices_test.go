package membermail_test

import (
	"context"
	"fmt"
	"regexp"
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
)

var eightDigits = regexp.MustCompile(`\d{8}`)

// startNotices runs a router with the security notices only, and waits until they have fixed their starting point.
func (e *env) startNotices(t *testing.T, sender mail.Sender) *running {
	t.Helper()
	router, err := messaging.NewRouter(messaging.RouterConfig{
		Feed: e.events.Source, DB: e.db, Logger: e.logger,
		Retry:   messaging.RetryPolicy{MaxRetries: 1, InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond, Multiplier: 2, MaxElapsedTime: time.Second},
		Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, LeaseRetry: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := membermail.RegisterNotices(router, membermail.Deps{DB: e.db, Store: e.events.Store, Sender: sender,
		From: from, Logger: e.logger}); err != nil {
		t.Fatal(err)
	}
	r := &running{router: router, done: make(chan error, 1)}
	go func() { r.done <- router.Run(context.Background()) }()
	t.Cleanup(func() { r.stop(t) })
	messagingtest.Eventually(t, "the notices' starting points", func() bool { return router.Started(ctxT(t)) == nil })
	return r
}

// noticesReached waits until every notice handler has acknowledged the log up to position.
func (e *env) noticesReached(t *testing.T, position uint64) {
	t.Helper()
	messagingtest.Eventually(t, fmt.Sprintf("notices at position %d", position), func() bool {
		for _, h := range membermail.NoticeHandlers() {
			p, _, err := messaging.Checkpoint(ctxT(t), e.db, h)
			if err != nil {
				t.Fatal(err)
			}
			if p < position {
				return false
			}
		}
		return true
	})
}

// TestSecurityNoticesOncePerEvent: a lock, an email change (to the old address) and a password change or reset
// are each told once, with no secret in the mail, across a restart; the password chosen at activation and events
// from before the handlers' first start are not.
func TestSecurityNoticesOncePerEvent(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		srv, sender := startSMTP(t)

		memberID := uuid.New()
		ms := event.NewStreamID(member.Category, memberID)
		const hash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
		e.write(t, ms, member.Registered{RegistrationID: uuid.New(), NIR: "292112A004017", Key: 59, LastName: "Lefèvre",
			FirstName: "Élodie", BirthDate: "1992-11-03", Email: "elodie@example.org"},
			member.PasswordSet{Hash: hash, PolicyVersion: "1", Reason: member.ReasonActivation})
		// Before the handlers ever started: never told.
		e.write(t, ms, member.EmailChanged{Email: "before@example.org"})

		r := e.startNotices(t, sender)
		_, changed := e.write(t, ms, member.EmailChanged{Email: "elodie.lefevre@example.net"})
		_, password := e.write(t, ms, member.PasswordSet{Hash: hash, PolicyVersion: "1", Reason: member.ReasonChange,
			SessionID: uuid.New()})
		until := at.Add(15 * time.Minute)
		e.write(t, ms, member.LoginFailed{Failures: 5})
		_, locked := e.write(t, ms, member.Locked{Until: until, Reason: member.LockTooManyFailures})
		_, reset := e.write(t, ms, member.PasswordSet{Hash: hash, PolicyVersion: "1", Reason: member.ReasonReset})
		last, _ := e.write(t, ms, member.LoggedIn{SessionID: uuid.New()})
		e.noticesReached(t, last.Position)

		paris, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			t.Fatal(err)
		}
		clock := func(t time.Time) string {
			l := t.In(paris)
			return fmt.Sprintf("%d à %d h %02d (heure de Paris)", l.Year(), l.Hour(), l.Minute())
		}
		type want struct {
			handler string
			eventID uuid.UUID
			to      string
			subject string
			parts   []string
		}
		wants := []want{
			// The old address, not the new one (which the notice does not even name).
			{membermail.EmailChangedNoticeHandler, changed, "before@example.org",
				"L'adresse email de votre espace privé a été modifiée",
				[]string{clock(at), "Si vous n'êtes pas à l'origine de ce changement", "contactez votre caisse"}},
			{membermail.PasswordChangedNoticeHandler, password, "elodie.lefevre@example.net",
				"Le mot de passe de votre espace privé a été modifié",
				[]string{clock(at), "modifié depuis votre espace privé", "« Mot de passe oublié »"}},
			{membermail.LockNoticeHandler, locked, "elodie.lefevre@example.net",
				"Connexion à votre espace privé suspendue",
				[]string{"suspendue jusqu'au", clock(until), "attendez cette heure", "« Mot de passe oublié »",
					"Si ce n'était pas vous"}},
			{membermail.PasswordChangedNoticeHandler, reset, "elodie.lefevre@example.net",
				"Le mot de passe de votre espace privé a été modifié",
				[]string{"réinitialisé", "Toutes vos sessions ont été fermées", "Si vous n'êtes pas à l'origine"}},
		}
		msgs := srv.Messages()
		if len(msgs) != len(wants) {
			t.Fatalf("%d mails, want %d: %+v", len(msgs), len(wants), msgs)
		}
		for _, w := range wants {
			id := mail.NewMessageID(messaging.EffectKey(w.handler, w.eventID), from)
			i := slices.IndexFunc(msgs, func(m smtptest.Message) bool { return m.MessageID == id })
			if i < 0 {
				t.Errorf("no %s mail for event %s", w.handler, w.eventID)
				continue
			}
			m := msgs[i]
			text := strings.ReplaceAll(m.Text, "\r\n", "\n")
			if !slices.Equal(m.To, []string{w.to}) || m.Subject != w.subject || !m.Date.Equal(at) ||
				m.Header.Get("Content-Language") != "fr" || !strings.HasPrefix(text, "Bonjour,\n\n") {
				t.Errorf("%s: to %v %q date %v lang %q:\n%s", w.handler, m.To, m.Subject, m.Date,
					m.Header.Get("Content-Language"), text)
			}
			for _, part := range w.parts {
				if !strings.Contains(text, part) {
					t.Errorf("%s lacks %q:\n%s", w.handler, part, text)
				}
			}
			// No secret nor personal data beyond the address it goes to.
			for _, secret := range []string{"292112A004017", "Lefèvre", "Élodie", "argon2", "@"} {
				if strings.Contains(text, secret) {
					t.Errorf("%s holds %q:\n%s", w.handler, secret, text)
				}
			}
			if eightDigits.MatchString(text) {
				t.Errorf("%s looks like it carries a code:\n%s", w.handler, text)
			}
		}

		// A restart: nothing told again; a new lock is told once.
		r.stop(t)
		_, again := e.write(t, ms, member.Locked{Until: until.Add(time.Hour), Reason: member.LockHourlyLimit})
		c, _ := e.write(t, ms, member.LoggedOut{SessionID: uuid.New(), Reason: "logout"})
		e.startNotices(t, sender)
		e.noticesReached(t, c.Position)
		msgs = srv.Messages()
		if len(msgs) != len(wants)+1 {
			t.Fatalf("%d mails after the restart, want %d", len(msgs), len(wants)+1)
		}
		if id := mail.NewMessageID(messaging.EffectKey(membermail.LockNoticeHandler, again), from); msgs[len(msgs)-1].MessageID != id {
			t.Errorf("the mail after the restart is %q, want the new lock's %q", msgs[len(msgs)-1].MessageID, id)
		}
		for _, h := range membermail.NoticeHandlers() {
			if poison, err := messaging.List(ctxT(t), db, messaging.ListOptions{Handler: h}); err != nil || len(poison) != 0 {
				t.Errorf("%s poison %+v, %v", h, poison, err)
			}
		}
		logs := e.logs.String()
		if !strings.Contains(logs, "membermail: notice sent") {
			t.Fatal("the notices did not log")
		}
		for _, secret := range []string{"@example.org", "@example.net", "Lefèvre", "292112A004017"} {
			if strings.Contains(logs, secret) {
				t.Errorf("logs hold %q", secret)
			}
		}
	})
}

// TestNoNoticeForAnErasedMember: an event handled after the member's data was erased tells nobody, and is not poison.
func TestNoNoticeForAnErasedMember(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t, db)
		srv, sender := startSMTP(t)
		e.startNotices(t, sender)
		ms := event.NewStreamID(member.Category, uuid.New())
		e.write(t, ms, member.Registered{RegistrationID: uuid.New(), NIR: "292112A004017", Key: 59, LastName: "Lefèvre",
			FirstName: "Élodie", BirthDate: "1992-11-03", Email: event.ErasedText})
		c, _ := e.write(t, ms, member.Locked{Until: at.Add(time.Hour), Reason: member.LockTooManyFailures})
		e.noticesReached(t, c.Position)
		if msgs := srv.Messages(); len(msgs) != 0 {
			t.Fatalf("mails %v, want none", msgs)
		}
		if poison, err := messaging.List(ctxT(t), db, messaging.ListOptions{}); err != nil || len(poison) != 0 {
			t.Errorf("poison %+v, %v", poison, err)
		}
	})
}

func TestRegisterNoticesNeedsItsDependencies(t *testing.T) {
	err := membermail.RegisterNotices(nil, membermail.Deps{})
	if err == nil {
		t.Fatal("RegisterNotices without dependencies succeeded")
	}
	for _, name := range []string{"DB", "Store", "Sender"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "Code") {
		t.Errorf("error %q asks for a code deriver the notices do not use", err)
	}
}
