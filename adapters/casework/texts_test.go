package casework

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/domain/servicerequest"
)

func TestFrenchDatesAndPeriods(t *testing.T) {
	paris, err := time.LoadLocation(defaultZone)
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[time.Time]string{
		time.Date(2025, 5, 28, 8, 5, 0, 0, time.UTC):   "mercredi 28 mai 2025 à 10 h 05", // summer time, UTC+2
		time.Date(2025, 5, 31, 22, 15, 0, 0, time.UTC): "dimanche 1er juin 2025 à 0 h 15",
		time.Date(2026, 2, 3, 16, 59, 0, 0, time.UTC):  "mardi 3 février 2026 à 17 h 59", // winter time, UTC+1
	} {
		if got := frenchDateTime(in.In(paris)); got != want {
			t.Errorf("frenchDateTime(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[servicerequest.Period]string{
		{Count: 2, Unit: servicerequest.Months}: "2 mois",
		{Count: 1, Unit: servicerequest.Months}: "1 mois",
		{Count: 1, Unit: servicerequest.Days}:   "1 jour",
		{Count: 30, Unit: servicerequest.Days}:  "30 jours",
	} {
		if got := frenchPeriod(in); got != want {
			t.Errorf("frenchPeriod(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestUnreadableAcknowledgementIsInvalid(t *testing.T) {
	paris, err := time.LoadLocation(defaultZone)
	if err != nil {
		t.Fatal(err)
	}
	good := servicerequest.Acknowledged{Reference: "MSA-2026-7KQ2-M9XD-3F0A", ReceivedAt: time.Now(),
		HandlingTime: servicerequest.Period{Count: 1, Unit: servicerequest.Months}, DueOn: "2026-06-01",
		Silence:            servicerequest.SilenceRule{Outcome: servicerequest.Acceptance, Period: servicerequest.Period{Count: 2, Unit: servicerequest.Months}},
		ImplicitDecisionOn: "2026-07-01", TimeZone: defaultZone}
	m, err := acknowledgementMessage(good, paris)
	if err != nil || !strings.Contains(m.Text, "lundi 1er juin 2026") || !strings.Contains(m.Text, "mercredi 1er juillet 2026") {
		t.Fatalf("good acknowledgement: %v\n%s", err, m.Text)
	}
	for name, change := range map[string]func(*servicerequest.Acknowledged){
		"due date":      func(a *servicerequest.Acknowledged) { a.DueOn = "01/06/2026" },
		"implicit date": func(a *servicerequest.Acknowledged) { a.ImplicitDecisionOn = "" },
		"outcome":       func(a *servicerequest.Acknowledged) { a.Silence.Outcome = "maybe" },
		"none with a date": func(a *servicerequest.Acknowledged) {
			a.Silence = servicerequest.SilenceRule{Outcome: servicerequest.NoImplicitDecision}
		},
		"time zone": func(a *servicerequest.Acknowledged) { a.TimeZone = "Mars/Olympus" },
		"reference": func(a *servicerequest.Acknowledged) { a.Reference = "" },
	} {
		a := good
		change(&a)
		if _, err := acknowledgementMessage(a, paris); !errors.Is(err, ErrAcknowledgementInvalid) {
			t.Errorf("%s: %v, want ErrAcknowledgementInvalid", name, err)
		}
	}
}

// TestAcknowledgementWithoutImplicitDecision: when silence decides nothing (a document delivered by right, a
// declaration), the mail gives the handling target and says that no implicit decision arises, without any date.
func TestAcknowledgementWithoutImplicitDecision(t *testing.T) {
	paris, err := time.LoadLocation(defaultZone)
	if err != nil {
		t.Fatal(err)
	}
	a := servicerequest.Acknowledged{Reference: "MSA-2026-7KQ2-M9XD-3F0A",
		ReceivedAt:   time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC),
		HandlingTime: servicerequest.Period{Count: 5, Unit: servicerequest.Days}, DueOn: "2026-03-15",
		Silence: servicerequest.SilenceRule{Outcome: servicerequest.NoImplicitDecision}, TimeZone: defaultZone,
		AppealRoutes: "Recours amiable : vous pouvez contester la décision devant la commission de recours amiable."}
	m, err := acknowledgementMessage(a, paris)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{
		"Délai de traitement : 5 jours. Nous nous engageons à traiter votre demande au plus tard le dimanche 15 mars 2026.",
		"Cette demande ne donne pas lieu à une décision implicite : elle porte sur un document délivré de droit ou " +
			"constitue une déclaration, et le silence gardé par votre caisse ne vaut ni acceptation ni rejet.",
		"ce délai est suspendu jusqu'à leur réception et cette date est reportée d'autant.",
		"Délais et voies de recours :\n" + a.AppealRoutes,
	} {
		if !strings.Contains(m.Text, part) {
			t.Errorf("mail lacks %q:\n%s", part, m.Text)
		}
	}
	for _, absent := range []string{"réputée", "fin de la journée", "ces dates"} {
		if strings.Contains(m.Text, absent) {
			t.Errorf("mail holds %q:\n%s", absent, m.Text)
		}
	}
}
