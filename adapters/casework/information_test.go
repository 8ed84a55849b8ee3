package casework_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/casework"
	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// TestInformationRequestMailPerRule: each request for information is mailed once to the member, with the items,
// the deadline, what it does to the periods under the request's silence rule (CRPA L114-5: a restart on receipt
// under acceptance, a suspension for the time used under rejection) and the service in charge.
func TestInformationRequestMailPerRule(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		e := newEnv(t)
		migrate(t, db)
		e.start(t, db)
		deadline := time.Date(2026, 6, 1, 21, 59, 0, 0, time.UTC) // 23 h 59 in Paris
		ask := servicerequest.InformationRequested{Caseworker: uuid.New(), Items: []string{"Avis d'imposition 2025", "RIB"},
			Deadline: deadline}
		type sent struct {
			to, reference, rule, other string
			eventID                    uuid.UUID
		}
		var want []sent
		var last uint64
		for _, tc := range []struct {
			email, reference string
			outcome          servicerequest.Outcome
			rule, other      string
		}{
			{"elodie@example.org", "MSA-2026-7KQ2-M9XD-3F0A", servicerequest.Acceptance,
				"ne court qu'à compter de la réception de ces éléments : il recommencera alors en entier", "suspendu"},
			{"marc@example.org", "MSA-2026-AAAA-BBBB-CCCC", servicerequest.Rejection,
				"est suspendu pendant le temps que vous mettrez à nous les fournir, au plus jusqu'au lundi 1er juin 2026 à 23 h 59 : la suspension prend fin dès leur réception",
				"recommencera"},
		} {
			memberID := e.member(t, tc.email, "")
			rs := servicerequest.StreamID(uuid.New())
			e.write(t, rs, at, submitted(memberID))
			e.write(t, rs, at, ack(tc.reference, tc.outcome, acceptanceRoutes), servicerequest.Queued{Queue: "sante"})
			c, id := e.write(t, rs, at, ask)
			last = c.Position
			want = append(want, sent{tc.email, tc.reference, tc.rule, tc.other, id})
		}
		reached(t, db, last)

		var got int
		for _, m := range e.smtp.Messages() {
			if m.Subject != casework.InformationRequestSubject {
				continue
			}
			got++
			to := strings.Join(m.To, ",")
			text := strings.ReplaceAll(m.Text, "\r\n", "\n")
			var w *sent
			for i := range want {
				if want[i].to == to {
					w = &want[i]
				}
			}
			if w == nil {
				t.Fatalf("a request for information to %s", to)
			}
			if id := mail.NewMessageID(messaging.EffectKey(casework.InformationRequestHandler, w.eventID), from); m.MessageID != id {
				t.Errorf("Message-ID %q, want %q", m.MessageID, id)
			}
			for _, part := range []string{
				"référence " + w.reference,
				"- Avis d'imposition 2025\n- RIB\n",
				"au plus tard le lundi 1er juin 2026 à 23 h 59 (heure de Paris)",
				w.rule,
				"Service chargé de votre demande :\n" + office.Name,
			} {
				if !strings.Contains(text, part) {
					t.Errorf("mail to %s lacks %q:\n%s", to, part, text)
				}
			}
			if strings.Contains(text, w.other) {
				t.Errorf("mail to %s words the other rule (%q):\n%s", to, w.other, text)
			}
		}
		if got != 2 {
			t.Fatalf("%d requests for information mailed, want 2", got)
		}
		// Neither the items nor the addresses reach the logs.
		for _, secret := range []string{"Avis d'imposition", "@example.org"} {
			if strings.Contains(e.logs.String(), secret) {
				t.Errorf("logs hold %q", secret)
			}
		}
	})
}
