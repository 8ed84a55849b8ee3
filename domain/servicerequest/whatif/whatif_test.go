package whatif_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/domain/servicerequest/whatif"
)

var paris = servicerequesttest.Paris

// published is what a submission under the embedded catalogue records for code.
func published(t *testing.T, code string) sr.Service {
	t.Helper()
	s, err := command.RequestService(catalog.Current(), code)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// alternative is the embedded catalogue's golden file with edit applied to its services, parsed as the command does.
func alternative(t *testing.T, version string, edit func(services []map[string]any)) *catalog.Catalog {
	t.Helper()
	data, err := os.ReadFile("../../catalog/testdata/catalog-" + catalog.CurrentVersion + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc["version"] = version
	var services []map[string]any
	for _, s := range doc["services"].([]any) {
		services = append(services, s.(map[string]any))
	}
	edit(services)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func service(services []map[string]any, code string) map[string]any {
	for _, s := range services {
		if s["code"] == code {
			return s
		}
	}
	panic("no service " + code)
}

// day is midnight of a calendar day in Paris, formatted as the report does: computed here from the calendar, not
// by the package's clock.
func day(y int, m time.Month, d int) string {
	return time.Date(y, m, d, 0, 0, 0, 0, paris).Format(time.DateOnly)
}

// scenario is a January 2026 of submissions under the embedded catalogue (plus one before and one after the month).
type scenario struct {
	cases                               []whatif.Case
	late, onTime, paused, card, housing *servicerequesttest.Request
	period                              whatif.Period
	now                                 time.Time
}

func newScenario(t *testing.T) scenario {
	var pos uint64
	member, worker := uuid.New(), uuid.New()
	at := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 9, 0, 0, 0, time.UTC) }
	c2s, cards, housing := published(t, "complementaire-sante-solidaire"), published(t, "carte-assurance-maladie"),
		published(t, "aide-logement")
	var s scenario
	// Decided on 10 February, after its 30-day target (4 February): breached either way.
	s.late = servicerequesttest.Submit(t, &pos, member, c2s, at(1, 5))
	s.late.Claim(at(1, 6), worker)
	s.late.Decide(at(2, 10), sr.Approved, "Conditions remplies")
	// Decided on 5 February: within 30 days of 12 January (11 February), not within 20 (1 February).
	s.onTime = servicerequesttest.Submit(t, &pos, member, c2s, at(1, 12))
	s.onTime.Claim(at(1, 13), worker)
	s.onTime.Decide(at(2, 5), sr.Approved, "Conditions remplies")
	// Open; pieces asked on 22 January, received on 28 January: under acceptance the periods run again from the 28th.
	s.paused = servicerequesttest.Submit(t, &pos, member, c2s, at(1, 20))
	s.paused.Claim(at(1, 21), worker)
	s.paused.AskInformation(at(1, 22), at(2, 22))
	s.paused.Answer(at(1, 28))
	// A card request, open, in sante-cartes.
	s.card = servicerequesttest.Submit(t, &pos, member, cards, at(1, 8))
	// A housing aid request (rejection on silence), decided in time; the what-if leaves its service alone.
	s.housing = servicerequesttest.Submit(t, &pos, member, housing, at(1, 15))
	s.housing.Claim(at(1, 16), worker)
	s.housing.Decide(at(1, 30), sr.Rejected, "Ressources trop élevées")
	before := servicerequesttest.Submit(t, &pos, member, c2s, time.Date(2025, 12, 31, 22, 30, 0, 0, time.UTC)) // 23:30 in Paris
	after := servicerequesttest.Submit(t, &pos, member, c2s, time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC))   // 1 Feb in Paris
	s.period = whatif.Period{From: time.Date(2026, 1, 1, 0, 0, 0, 0, paris), To: time.Date(2026, 2, 1, 0, 0, 0, 0, paris)}
	s.now = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	// The log in commit order, as the command's feed delivers it.
	var log []*servicerequesttest.Request
	log = append(log, before, s.late, s.onTime, s.paused, s.card, s.housing, after)
	h := whatif.NewHistories(s.period)
	var all []whatifEnv
	for _, r := range log {
		for _, e := range r.Events {
			all = append(all, whatifEnv{e.Position, e})
		}
	}
	slices.SortFunc(all, func(a, b whatifEnv) int { return int(a.pos) - int(b.pos) })
	for _, e := range all {
		h.Add(e.env)
	}
	s.cases = h.Cases()
	return s
}

// TestReplayReportsExactlyTheCasesThatDiffer: C2S's handling target shortened from 30 to 20 days and the card
// service moved to the sante-c2s queue; the month's C2S cases get their new due days (and one a breach), the card
// case its new queue, the housing case nothing, and the cases received outside the month are not replayed.
func TestReplayReportsExactlyTheCasesThatDiffer(t *testing.T) {
	s := newScenario(t)
	if len(s.cases) != 5 {
		t.Fatalf("%d cases gathered, want the 5 received in January", len(s.cases))
	}
	alt := alternative(t, "2026.1-whatif", func(services []map[string]any) {
		service(services, "complementaire-sante-solidaire")["target_handling_days"] = 20
		service(services, "carte-assurance-maladie")["queue"] = "sante-c2s"
	})
	rep, err := whatif.Replay(alt, s.period, s.now, s.cases)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Cases != 5 || rep.Differ != 4 || len(rep.Differences) != 4 || len(rep.Skipped) != 0 {
		t.Fatalf("cases %d differ %d differences %+v skipped %+v", rep.Cases, rep.Differ, rep.Differences, rep.Skipped)
	}
	got := map[uuid.UUID]whatif.Difference{}
	for _, d := range rep.Differences {
		got[d.RequestID] = d
	}
	type want struct {
		wasDue, wouldDue, wasQueue, wouldQueue string
		wasBreach, wouldBreach                 bool
		changed                                []string
	}
	for name, w := range map[string]struct {
		r *servicerequesttest.Request
		want
	}{
		"late": {s.late, want{day(2026, 1, 5+30), day(2026, 1, 5+20), "sante-c2s", "sante-c2s", true, true,
			[]string{whatif.ChangedDueOn}}},
		"on time": {s.onTime, want{day(2026, 1, 12+30), day(2026, 1, 12+20), "sante-c2s", "sante-c2s", false, true,
			[]string{whatif.ChangedDueOn, whatif.ChangedBreach}}},
		"paused": {s.paused, want{day(2026, 1, 28+30), day(2026, 1, 28+20), "sante-c2s", "sante-c2s", true, true,
			[]string{whatif.ChangedDueOn}}},
		"card": {s.card, want{day(2026, 1, 8+15), day(2026, 1, 8+15), "sante-cartes", "sante-c2s", true, true,
			[]string{whatif.ChangedQueue}}},
	} {
		d, ok := got[w.r.ID]
		if !ok {
			t.Errorf("%s: not reported", name)
			continue
		}
		if d.Was.DueOn != w.wasDue || d.WouldBe.DueOn != w.wouldDue || d.Was.Queue != w.wasQueue ||
			d.WouldBe.Queue != w.wouldQueue || d.Was.Breached != w.wasBreach || d.WouldBe.Breached != w.wouldBreach ||
			!slices.Equal(d.Changed, w.changed) {
			t.Errorf("%s: %+v, want %+v", name, d, w.want)
		}
		// The silence rule did not change: the implicit-decision day neither (2 months after the start day).
		if d.Was.ImplicitDecisionOn != d.WouldBe.ImplicitDecisionOn || d.Was.ImplicitDecisionOn == "" {
			t.Errorf("%s: implicit-decision day %q → %q", name, d.Was.ImplicitDecisionOn, d.WouldBe.ImplicitDecisionOn)
		}
		if d.Reference == "" || d.Was.CatalogVersion != "2026.1" || d.WouldBe.CatalogVersion != "2026.1-whatif" {
			t.Errorf("%s: %+v", name, d)
		}
	}
	if _, ok := got[s.housing.ID]; ok {
		t.Error("the housing case is reported, but nothing of its service changed")
	}
	totals := map[string]whatif.Total{}
	for _, tt := range append(rep.ByService, rep.ByQueue...) {
		totals[tt.Key] = tt
	}
	for key, w := range map[string]whatif.Total{
		"complementaire-sante-solidaire": {Key: "complementaire-sante-solidaire", Cases: 3, Differ: 3, DueOn: 3, Breach: 1},
		"carte-assurance-maladie":        {Key: "carte-assurance-maladie", Cases: 1, Differ: 1, Queue: 1},
		"aide-logement":                  {Key: "aide-logement", Cases: 1},
		"sante-c2s":                      {Key: "sante-c2s", Cases: 3, Differ: 3, DueOn: 3, Breach: 1},
		"sante-cartes":                   {Key: "sante-cartes", Cases: 1, Differ: 1, Queue: 1},
		"famille-logement":               {Key: "famille-logement", Cases: 1},
	} {
		if totals[key] != w {
			t.Errorf("total %s: %+v, want %+v", key, totals[key], w)
		}
	}
	if rep.All != (whatif.Total{Key: "all", Cases: 5, Differ: 4, DueOn: 3, Queue: 1, Breach: 1}) {
		t.Errorf("all: %+v", rep.All)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil || !strings.Contains(b.String(), s.late.LegalClock().DueOn.Format(time.DateOnly)+" → "+day(2026, 1, 25)) {
		t.Errorf("text: %v\n%s", err, b.String())
	}
}

// TestReplayUnderTheSameCatalogueChangesNothing: the embedded catalogue itself, and the same data under another
// version name, give no difference.
func TestReplayUnderTheSameCatalogueChangesNothing(t *testing.T) {
	s := newScenario(t)
	for _, c := range []*catalog.Catalog{catalog.Current(), alternative(t, "same-data", func([]map[string]any) {})} {
		rep, err := whatif.Replay(c, s.period, s.now, s.cases)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Cases != 5 || rep.Differ != 0 || len(rep.Differences) != 0 {
			t.Fatalf("%s: %d cases, %d differ: %+v", c.Version(), rep.Cases, rep.Differ, rep.Differences)
		}
	}
}

// TestReplaySkipsRetiredServices: a service the what-if catalogue does not have is said, not guessed.
func TestReplaySkipsRetiredServices(t *testing.T) {
	s := newScenario(t)
	alt := alternative(t, "no-cards", func(services []map[string]any) {
		service(services, "carte-assurance-maladie")["kind"] = "information"
	})
	rep, err := whatif.Replay(alt, s.period, s.now, s.cases)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Cases != 4 || len(rep.Skipped) != 1 || rep.Skipped[0].RequestID != s.card.ID {
		t.Fatalf("cases %d skipped %+v", rep.Cases, rep.Skipped)
	}
}

func TestPeriodCheck(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, paris)
	if err := (whatif.Period{From: jan, To: jan.AddDate(0, 1, 0)}).Check(now); err != nil {
		t.Fatal(err)
	}
	err := (whatif.Period{From: now.AddDate(0, 1, 0), To: jan}).Check(now)
	if err == nil || !strings.Contains(err.Error(), "after it ends") || !strings.Contains(err.Error(), "starts in the future") {
		t.Fatalf("%v", err)
	}
	if err := (whatif.Period{From: jan, To: now.AddDate(0, 0, 3)}).Check(now); err == nil || !strings.Contains(err.Error(), "ends in the future") {
		t.Fatalf("%v", err)
	}
}

type whatifEnv struct {
	pos uint64
	env event.Envelope
}
