package casework_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/casework"
	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

const (
	acceptanceRoutes = "Vous pouvez demander une attestation de décision implicite d'acceptation (article L232-3 du CRPA)."
	rejectionRoutes  = "Vous pouvez former un recours gracieux auprès du directeur de votre caisse dans un délai de deux mois."
)

// ack is an acknowledgement received on Thursday 14 May 2026 at 09:30 UTC (11 h 30 in Paris).
func ack(reference string, outcome servicerequest.Outcome, routes string) servicerequest.Acknowledged {
	return servicerequest.Acknowledged{
		Reference:          reference,
		ReceivedAt:         time.Date(2026, 5, 14, 9, 30, 0, 0, time.UTC),
		HandlingTime:       servicerequest.Period{Count: 30, Unit: servicerequest.Days},
		DueOn:              "2026-06-13",
		Silence:            servicerequest.SilenceRule{Outcome: outcome, Period: servicerequest.Period{Count: 2, Unit: servicerequest.Months}},
		ImplicitDecisionOn: "2026-07-14",
		TimeZone:           "Europe/Paris",
		AppealRoutes:       routes,
		ServiceInCharge:    office,
	}
}

// office is the service in charge the acknowledgements name (R112-5 2°).
var office = servicerequest.ServiceInCharge{Name: "Service santé — complémentaire santé solidaire",
	Address: "MSA\n1 rue de la Mutualité\n49000 Angers", Phone: "02 41 31 75 75", Email: "c2s@msa.example.fr"}

// member registers a member with first, who then changes to second (if not empty); it returns the member id.
func (e *env) member(t *testing.T, first, second string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	ms := event.NewStreamID(member.Category, id)
	e.write(t, ms, at, member.Registered{RegistrationID: uuid.New(), NIR: "292112A004017", Key: 59,
		LastName: "Lefèvre", FirstName: "Élodie", BirthDate: "1992-11-03", Email: first})
	if second != "" {
		e.write(t, ms, at, member.EmailChanged{Email: second})
	}
	return id
}

// submit writes a request of memberID with its acknowledgement a; it returns the commit and the acknowledgement's id.
func (e *env) submit(t *testing.T, memberID uuid.UUID, a servicerequest.Acknowledged) (event.Commit, uuid.UUID) {
	t.Helper()
	rs := servicerequest.StreamID(uuid.New())
	e.write(t, rs, at, submitted(memberID))
	c, id := e.write(t, rs, at, a, servicerequest.Queued{Queue: "sante"})
	return c, id
}

func TestOneAcknowledgementMailPerRequestOnceAcrossRestarts(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t)
		migrate(t, db)
		r := e.start(t, db)

		elodie := e.member(t, "elodie@example.org", "elodie.lefevre@example.org")
		_, first := e.submit(t, elodie, ack("MSA-2026-7KQ2-M9XD-3F0A", servicerequest.Acceptance, acceptanceRoutes))
		marc := e.member(t, "marc@example.org", "")
		_, second := e.submit(t, marc, ack("MSA-2026-AAAA-BBBB-CCCC", servicerequest.Rejection, rejectionRoutes))
		// Later address changes do not redirect an acknowledgement already due.
		last, _ := e.write(t, event.NewStreamID(member.Category, marc), at, member.EmailChanged{Email: "later@example.org"})
		reached(t, db, last.Position)

		msgs := e.smtp.Messages()
		if len(msgs) != 2 {
			t.Fatalf("%d mails, want 2", len(msgs))
		}
		byTo := map[string]int{}
		for i, m := range msgs {
			byTo[strings.Join(m.To, ",")] = i
		}
		// L114-5, worded for each rule: under acceptance the periods restart whole when the pieces come; under
		// rejection they are suspended for the time used, ending early when the pieces come.
		const (
			restart = "ces délais ne courent qu'à compter de leur réception : ils recommencent alors en entier à " +
				"partir du jour où nous les recevons"
			suspend = "ces délais sont suspendus pendant le temps que vous mettez à les fournir, dans la limite du " +
				"délai qui vous est imparti : la suspension prend fin dès leur réception, et ces dates sont reportées d'autant"
		)
		for _, want := range []struct {
			to, reference, silence, routes, pieces, notPieces string
			eventID                                           uuid.UUID
		}{
			{"elodie.lefevre@example.org", "MSA-2026-7KQ2-M9XD-3F0A", "réputée acceptée", acceptanceRoutes, restart, suspend, first},
			{"marc@example.org", "MSA-2026-AAAA-BBBB-CCCC", "réputée rejetée", rejectionRoutes, suspend, restart, second},
		} {
			i, ok := byTo[want.to]
			if !ok {
				t.Errorf("no mail to %s (mails to %v)", want.to, byTo)
				continue
			}
			m := msgs[i]
			if m.Subject != "Accusé de réception de votre demande" {
				t.Errorf("subject %q", m.Subject)
			}
			if id := mail.NewMessageID(messaging.EffectKey(casework.AcknowledgementHandler, want.eventID), from); m.MessageID != id {
				t.Errorf("Message-ID %q, want %q", m.MessageID, id)
			}
			if !m.Date.Equal(at) {
				t.Errorf("Date %v, want the event's business time %v", m.Date, at)
			}
			if m.Header.Get("Content-Language") != "fr" {
				t.Errorf("Content-Language %q", m.Header.Get("Content-Language"))
			}
			text := strings.ReplaceAll(m.Text, "\r\n", "\n")
			for _, part := range []string{
				"Bonjour,",
				"Référence de votre demande : " + want.reference,
				"reçu votre demande le jeudi 14 mai 2026 à 11 h 30 (heure de Paris)",
				"Délai de traitement : 30 jours",
				"au plus tard le samedi 13 juin 2026",
				"à la fin de la journée du mardi 14 juillet 2026, votre demande sera " + want.silence,
				want.routes,
				want.pieces,
				"Service chargé de votre demande :\nService santé — complémentaire santé solidaire\nMSA\n" +
					"1 rue de la Mutualité\n49000 Angers\nTéléphone : 02 41 31 75 75\nCourriel : c2s@msa.example.fr",
			} {
				if !strings.Contains(text, part) {
					t.Errorf("mail to %s lacks %q:\n%s", want.to, part, text)
				}
			}
			if strings.Contains(text, want.notPieces) {
				t.Errorf("mail to %s words the other L114-5 rule:\n%s", want.to, text)
			}
		}

		// A restart sends nothing again; an acknowledgement written while the reactions were down is mailed.
		r.stop(t)
		c, _ := e.submit(t, elodie, ack("MSA-2026-DDDD-EEEE-FFFF", servicerequest.Acceptance, acceptanceRoutes))
		e.start(t, db)
		reached(t, db, c.Position)
		msgs = e.smtp.Messages()
		if len(msgs) != 3 {
			t.Fatalf("%d mails after the restart, want 3", len(msgs))
		}
		if !slices.Equal(msgs[2].To, []string{"elodie.lefevre@example.org"}) ||
			!strings.Contains(msgs[2].Text, "MSA-2026-DDDD-EEEE-FFFF") {
			t.Errorf("third mail to %v", msgs[2].To)
		}

		// No address, name or reference reaches the logs.
		logs := e.logs.String()
		if !strings.Contains(logs, "casework: acknowledgement mail sent") {
			t.Fatalf("the reaction did not log (logs: %d bytes)", len(logs))
		}
		for _, secret := range []string{"@example.org", "Lefèvre", "MSA-2026-"} {
			if strings.Contains(logs, secret) {
				t.Errorf("logs hold %q", secret)
			}
		}
	})
}

func TestAcknowledgementWithoutRecipientIsPoison(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t)
		migrate(t, db)
		e.start(t, db)
		_, bad := e.submit(t, uuid.New(), ack("MSA-2026-7KQ2-M9XD-3F0A", servicerequest.Acceptance, acceptanceRoutes))
		good := e.member(t, "a@example.org", "")
		c, _ := e.submit(t, good, ack("MSA-2026-AAAA-BBBB-CCCC", servicerequest.Acceptance, acceptanceRoutes))
		reached(t, db, c.Position)
		if msgs := e.smtp.Messages(); len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"a@example.org"}) {
			t.Fatalf("mails %d, want the second request's only", len(msgs))
		}
		poison, err := messaging.List(ctxT(t), db, messaging.ListOptions{Handler: casework.AcknowledgementHandler})
		if err != nil {
			t.Fatal(err)
		}
		if len(poison) != 1 || poison[0].EventID != bad.String() || poison[0].Code != "casework.no_recipient" {
			t.Fatalf("poison %+v, want the acknowledgement without member", poison)
		}
	})
}

func TestRegisterNeedsItsDependencies(t *testing.T) {
	err := casework.Register(nil, casework.Deps{})
	if err == nil {
		t.Fatal("Register without dependencies succeeded")
	}
	for _, name := range []string{"DB", "Store", "Sender"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if err := casework.NewScheduler(casework.SchedulerDeps{}).Run(t.Context()); err == nil ||
		!strings.Contains(err.Error(), "DB") || !strings.Contains(err.Error(), "Lapse") {
		t.Errorf("Run without dependencies: %v", err)
	}
}
