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
		"outcome":       func(a *servicerequest.Acknowledged) { a.Silence.Outcome = "none" },
		"time zone":     func(a *servicerequest.Acknowledged) { a.TimeZone = "Mars/Olympus" },
		"reference":     func(a *servicerequest.Acknowledged) { a.Reference = "" },
	} {
		a := good
		change(&a)
		if _, err := acknowledgementMessage(a, paris); !errors.Is(err, ErrAcknowledgementInvalid) {
			t.Errorf("%s: %v, want ErrAcknowledgementInvalid", name, err)
		}
	}
}
