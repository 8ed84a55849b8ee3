package inboxmail_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	esdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/blobstore"
	"github.com/msa-dossier/dossier/adapters/inboxmail"
	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/letters"
	"github.com/msa-dossier/dossier/adapters/letters/letterstest"
	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/messaging/messagingtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/event/eventtest"
	"github.com/msa-dossier/dossier/domain/inbox"
	"github.com/msa-dossier/dossier/domain/member"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

const from = "Mon espace privé <ne-pas-repondre@msa.example>"

// ctxT and eventually are messagingtest's.
var (
	ctxT       = messagingtest.Context
	eventually = messagingtest.Eventually
)

// clock is the injected clock of the commands and the scheduler.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// TestDecisionLetterOpenedOnceAndDeemedNotification: a decision publishes its letter once into the member's inbox
// (the PDF, sealed in the blob store, parses and says the decision and the appeal deadline), a mail without its
// content tells the member; the first opening is recorded once and only by the member; a document never opened is
// deemed notified 15 days after it was made available (injected clock), not before, and the scheduler restarted
// records nothing twice. Both dialects, the real node, a real SMTP server.
func TestDecisionLetterOpenedOnceAndDeemedNotification(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := ctxT(t)
		events := kurrentdbtest.Start(t, inbox.Definitions(), member.Definitions(), sr.Definitions(), consultation.Definitions())
		srv, sender := smtptest.StartSender(t, from)
		messagingtest.Migrate(t, db, inboxmail.Migrate)
		blobs, err := blobstore.Open(ctx, "mem://", eventtest.NewMemorySealer())
		if err != nil {
			t.Fatal(err)
		}
		clk := &clock{now: time.Now().UTC()}
		cmds, err := command.NewInbox(command.Runtime{Store: events.Store, Clock: clk.Now}, blobs)
		if err != nil {
			t.Fatal(err)
		}
		start := func() func() {
			router, err := messaging.NewRouter(messaging.RouterConfig{Feed: events.Source, DB: db,
				Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, LeaseRetry: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if err := letters.Register(router, letters.Deps{Store: events.Store, Publisher: cmds, Now: clk.Now}); err != nil {
				t.Fatal(err)
			}
			if err := inboxmail.Register(router, inboxmail.Deps{DB: db, Store: events.Store, Sender: sender, From: from}); err != nil {
				t.Fatal(err)
			}
			sched := inboxmail.NewScheduler(inboxmail.SchedulerDeps{DB: db, Now: clk.Now, Interval: 50 * time.Millisecond,
				Notify: func(ctx context.Context, memberID, id uuid.UUID) error {
					_, err := cmds.DeemNotified(ctx, memberID, id)
					return err
				}})
			runCtx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); _ = router.Run(runCtx) }()
			go func() { defer wg.Done(); _ = sched.Run(runCtx) }()
			eventually(t, "the handlers' starting points", func() bool { return router.Started(ctxT(t)) == nil })
			return func() { _ = router.Close(); cancel(); wg.Wait() }
		}
		stop := start()
		defer func() { stop() }()

		alice, bob, request := uuid.New(), uuid.New(), uuid.New()
		write := func(stream event.StreamID, v any) {
			cmd := uuid.New()
			if _, err := events.Store.Append(ctx, stream, esdb.Any{}, event.Metadata{CorrelationID: cmd, CausationID: cmd,
				CommandID: cmd, Actor: event.Actor{ID: alice.String(), Role: event.RoleMember},
				OccurredAt: clk.Now().Truncate(time.Second)}, v); err != nil {
				t.Fatal(err)
			}
		}
		write(event.NewStreamID(member.Category, alice), member.Registered{RegistrationID: uuid.New(),
			Email: "alice@example.test", LastName: "Martin", FirstName: "Alice"})
		reqStream := sr.StreamID(request)
		write(reqStream, sr.Submitted{MemberID: alice, ServiceCode: "changement-situation-pro", CatalogVersion: "2026.1",
			Form: []byte(`{}`), CommandID: uuid.New()})
		write(reqStream, sr.Acknowledged{Reference: "MSA-2026-7KQ2-M9XD-3F0A", ReceivedAt: clk.Now().Add(-72 * time.Hour),
			ServiceInCharge: sr.ServiceInCharge{Name: "Service cotisations", Address: "1 rue de l'Exemple\n62000 Arras"}})
		write(reqStream, sr.Decided{Caseworker: uuid.New(), Decision: sr.Rejected, Reason: "Activité principale non agricole.",
			CatalogVersion: "2026.1", RuleApplied: "affiliation.activite-principale", AuthorName: "Claire Dupont",
			AuthorPosition: "Gestionnaire conseil"})

		letterID := command.InboxDocumentID(inbox.KindDecisionLetter, request)
		var letter inbox.Document
		eventually(t, "the decision letter in the inbox", func() bool {
			letter, err = cmds.InboxDocument(ctx, alice, letterID)
			return err == nil
		})
		pdf, err := blobs.Get(ctx, alice, letter.BlobKey)
		if err != nil {
			t.Fatal(err)
		}
		text := letterstest.Flat(t, pdf)
		for _, want := range []string{"votre demande est REJETÉE", "Activité principale non agricole.",
			"affiliation.activite-principale", "version 2026.1", "Claire Dupont, Gestionnaire conseil",
			"dans un délai de 2 mois à compter de sa notification", "Service cotisations"} {
			if !strings.Contains(text, want) {
				t.Errorf("the letter does not say %q:\n%s", want, text)
			}
		}
		latest := sr.AppealDeadline(inbox.DeemedAt(letter.PublishedAt), paris(t))
		if !strings.Contains(text, "le "+letters.Day(latest)+" au plus tard") {
			t.Errorf("the letter does not give the latest appeal day %s:\n%s", letters.Day(latest), text)
		}

		msgs, err := srv.WaitMatch(ctx, 1, smtptest.To("alice@example.test"))
		if err != nil {
			t.Fatal(err)
		}
		if raw := string(msgs[0].Raw); strings.Contains(raw, "Activit") || strings.Contains(raw, "MSA-2026") ||
			!strings.Contains(msgs[0].Subject, "nouveau document") {
			t.Errorf("the new-document mail: subject %q, says too much or not enough:\n%s", msgs[0].Subject, raw)
		}

		// Published once: the reaction again (a redelivery) or anyone publishing the same source adds nothing.
		again, err := cmds.Publish(ctx, command.Meta{}, command.PublishInput{MemberID: alice, DocumentID: letterID,
			Kind: inbox.KindDecisionLetter, SourceID: request, Title: "x", FileName: "x.pdf", ContentType: "application/pdf",
			Content: pdf})
		if err != nil || again.Published {
			t.Fatalf("publishing the letter again: %+v, %v", again, err)
		}

		// The first opening, once; Bob cannot open Alice's letter.
		if _, err := cmds.OpenDocument(ctx, command.Meta{}, bob, letterID); !errors.Is(err, inbox.ErrNotFound) {
			t.Errorf("Bob opening Alice's letter: %v", err)
		}
		for range 2 {
			if _, err := cmds.OpenDocument(ctx, command.Meta{}, alice, letterID); err != nil {
				t.Fatal(err)
			}
		}
		count := func(typ string) int {
			history, err := events.Store.Load(ctx, inbox.StreamID(alice))
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range history {
				if e.Type == typ {
					n++
				}
			}
			return n
		}
		if n := count(inbox.TypeOpened); n != 1 {
			t.Errorf("%d openings recorded, want 1", n)
		}
		if n := count(inbox.TypePublished); n != 1 {
			t.Errorf("%d publications, want 1", n)
		}

		// A document never opened: deemed notified 15 days after it was made available, not a minute before.
		res, err := cmds.Publish(ctx, command.Meta{}, command.PublishInput{MemberID: alice, DocumentID: uuid.New(),
			Kind: inbox.KindExternal, Title: "Relevé annuel", FileName: "releve.pdf", ContentType: "application/pdf", Content: pdf})
		if err != nil || !res.Published {
			t.Fatal(res, err)
		}
		other, _ := cmds.InboxDocument(ctx, alice, res.DocumentID)
		eventually(t, "two mails", func() bool { return len(srv.Messages()) == 2 })
		clk.Set(other.PublishedAt.Add(inbox.DeemedAfter - time.Minute))
		time.Sleep(400 * time.Millisecond)
		if n := count(inbox.TypeDeemedNotified); n != 0 {
			t.Fatalf("%d deemed notifications before 15 days", n)
		}
		stop()
		stop = start() // the due rows survive a restart
		clk.Set(other.PublishedAt.Add(inbox.DeemedAfter + time.Minute))
		eventually(t, "the deemed notification", func() bool { return count(inbox.TypeDeemedNotified) == 1 })
		d, _ := cmds.InboxDocument(ctx, alice, res.DocumentID)
		if !d.Deemed || !d.NotifiedAt.Equal(inbox.DeemedAt(other.PublishedAt)) || !d.OpenedAt.IsZero() {
			t.Errorf("deemed document %+v", d)
		}
		if l, _ := cmds.InboxDocument(ctx, alice, letterID); l.Deemed {
			t.Errorf("the opened letter was deemed notified: %+v", l)
		}
		stop()
		stop = start()
		time.Sleep(300 * time.Millisecond)
		if n := count(inbox.TypeDeemedNotified); n != 1 {
			t.Errorf("%d deemed notifications after a restart, want 1", n)
		}

		// A payment attestation: a PDF of the payments of the year recorded when it was asked, published once.
		finance := event.NewStreamID(consultation.Category, alice)
		write(finance, consultation.PaymentRecorded{PaymentID: "P-1", Kind: "ij", AmountCents: 123450, PaidOn: "2026-03-05",
			Label: "Indemnités journalières"})
		write(finance, consultation.PaymentRecorded{PaymentID: "P-0", Kind: "ij", AmountCents: 5000, PaidOn: "2025-12-30",
			Label: "Indemnités journalières"})
		attestation := uuid.New()
		write(finance, consultation.PaymentAttestationIssued{AttestationID: attestation, Year: 2026})
		write(finance, consultation.PaymentRecorded{PaymentID: "P-2", Kind: "ij", AmountCents: 777, PaidOn: "2026-04-05",
			Label: "Indemnités journalières"}) // recorded after the request: not on it
		attID := command.InboxDocumentID(inbox.KindPaymentAttestation, attestation)
		var att inbox.Document
		eventually(t, "the attestation in the inbox", func() bool {
			att, err = cmds.InboxDocument(ctx, alice, attID)
			return err == nil
		})
		content, err := blobs.Get(ctx, alice, att.BlobKey)
		if err != nil {
			t.Fatal(err)
		}
		if text := letterstest.Flat(t, content); !strings.Contains(text, "Attestation de paiements 2026") ||
			!strings.Contains(text, "Total : 1 234,50 €") || strings.Contains(text, "2025-12-30") || strings.Contains(text, "7,77") {
			t.Errorf("the attestation:\n%s", text)
		}
	})
}

func paris(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
