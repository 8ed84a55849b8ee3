package simulation_test

import (
	"errors"
	"maps"
	"math"
	"strings"
	"testing"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
	"github.com/msa-dossier/dossier/domain/simulation"
)

// The documented 2026 figures [~], written out again here (not taken from the package) so that a wrong constant in
// the code fails the tests.
const (
	pass = 48060.0 // €
	smic = 12.02   // € an hour
)

// cents rounds an amount in euros to the cent, half up (no expectation below lies near a half cent).
func cents(euros float64) int64 { return int64(math.Floor(euros*100 + 0.5)) }

func byCode(r simulation.Result) map[string]int64 {
	m := map[string]int64{}
	for _, l := range r.Lines {
		m[l.Code] = l.AmountCents
	}
	return m
}

// chefExpected computes the documented chef d'exploitation formula in floating point, in euros.
func chefExpected(r float64) map[string]int64 {
	var amexaRate float64
	switch {
	case r <= 0.4*pass:
	case r <= 0.6*pass:
		amexaRate = 0.04 * (r - 0.4*pass) / (0.2 * pass)
	case r <= 1.1*pass:
		amexaRate = 0.04 + 0.025*(r-0.6*pass)/(0.5*pass)
	default:
		amexaRate = 0.065
	}
	var pfRate float64
	switch {
	case r <= 1.1*pass:
	case r <= 1.4*pass:
		pfRate = 0.031 * (r - 1.1*pass) / (0.3 * pass)
	default:
		pfRate = 0.031
	}
	capped := math.Max(math.Min(r, pass), 600*smic)
	return map[string]int64{
		"amexa":                  cents(r * amexaRate),
		"ij-amexa":               25000,
		"invalidite":             cents(0.011 * math.Max(r, 0.115*pass)),
		"avi":                    cents(0.0332 * math.Max(math.Min(r, pass), 800*smic)),
		"ava-plafonnee":          cents(0.1155 * capped),
		"ava-deplafonnee":        cents(0.0224 * math.Max(r, 600*smic)),
		"rco":                    cents(0.04 * math.Max(r, 1820*smic)),
		"prestations-familiales": cents(r * pfRate),
		"atexa":                  47000,
		"csg-crds":               cents(0.097 * r),
		"formation":              cents(math.Min(math.Max(0.0089*r, 80), 500)),
	}
}

func TestEstimateByHand(t *testing.T) {
	tests := []struct {
		name  string
		in    simulation.Input
		want  map[string]int64
		amexa int64 // a few lines worked out on paper, as a check on chefExpected itself
		total int64
	}{
		{name: "chef, 30 000 €", in: simulation.Input{IncomeCents: 3_000_000, Status: simulation.ChefExploitation},
			want: chefExpected(30000),
			// AMEXA: 30 000 lies between 60 % PASS (28 836) and 110 % PASS (52 866): rate 4 % + 2,5 % × 1 164/24 030
			// = 4,1211 %, 1 236,33 €
			amexa: 123633,
			// 1236,33 + 250 + 330 + 996 + 3465 + 672 + 1200 + 0 + 470 + 2910 + 267 = 11 796,33 €
			total: 1_179_633},
		{name: "chef, 23 456,78 € (AMEXA between 40 and 60 % PASS)",
			in:   simulation.Input{IncomeCents: 2_345_678, Status: simulation.ChefExploitation},
			want: chefExpected(23456.78),
			// rate 4 % × (23 456,78 − 19 224)/9 612 = 1,7615 %, 413,18 €
			amexa: 41318},
		{name: "chef, 5 000 € (floors; no AMEXA below 40 % PASS)", in: simulation.Input{IncomeCents: 500_000, Status: simulation.ChefExploitation},
			want: chefExpected(5000)},
		{name: "chef, 0 €", in: simulation.Input{Status: simulation.ChefExploitation}, want: chefExpected(0), amexa: 0},
		{name: "chef, 60 000 € (family benefits between 110 and 140 % PASS)",
			in: simulation.Input{IncomeCents: 6_000_000, Status: simulation.ChefExploitation}, want: chefExpected(60000)},
		{name: "chef, 200 000 € (ceilings)", in: simulation.Input{IncomeCents: 20_000_000, Status: simulation.ChefExploitation},
			want: chefExpected(200000), amexa: 1_300_000},
		{name: "collaborateur", in: simulation.Input{IncomeCents: 1_234_500, Status: simulation.Collaborateur},
			want: map[string]int64{
				"avi":           cents(0.0332 * 400 * smic), // 159,63 €
				"ava-plafonnee": cents(0.1155 * 400 * smic), // 555,32 €
				"rco":           cents(0.04 * 1200 * smic),  // 576,96 €
				"atexa":         28000,
				"formation":     8000,
			}},
		{name: "cotisant de solidarité", in: simulation.Input{IncomeCents: 812_345, Status: simulation.CotisantSolidarite},
			want: map[string]int64{
				"cotisation-solidarite": cents(0.16 * 8123.45), // 1 299,75 €
				"atexa":                 6000,
				"csg-crds":              cents(0.097 * 8123.45), // 787,97 €
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := simulation.Estimate(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := byCode(r)
			if !maps.Equal(got, tt.want) {
				t.Errorf("lines\n got %v\nwant %v", got, tt.want)
			}
			if tt.amexa != 0 && got["amexa"] != tt.amexa {
				t.Errorf("amexa = %d, by hand %d", got["amexa"], tt.amexa)
			}
			var sum int64
			for _, v := range tt.want {
				sum += v
			}
			if r.TotalCents != sum || (tt.total != 0 && r.TotalCents != tt.total) {
				t.Errorf("total = %d, want %d (by hand %d)", r.TotalCents, sum, tt.total)
			}
			if r.Label != "Estimation indicative" || r.Disclaimer == "" || r.RatesYear != 2026 ||
				r.Status != tt.in.Status || r.IncomeCents != tt.in.IncomeCents {
				t.Errorf("header %+v", r)
			}
			for _, l := range r.Lines {
				if l.Label == "" || l.Formula == "" {
					t.Errorf("%s: no label or formula", l.Code)
				}
			}
		})
	}
}

func TestEstimateRefusesBadInput(t *testing.T) {
	tests := []struct {
		in   simulation.Input
		want map[string]string
	}{
		{simulation.Input{IncomeCents: -1, Status: simulation.ChefExploitation}, map[string]string{"income_cents": "simulation.income_negative"}},
		{simulation.Input{IncomeCents: simulation.MaxIncomeCents + 1, Status: simulation.Collaborateur}, map[string]string{"income_cents": "simulation.income_too_high"}},
		{simulation.Input{IncomeCents: 100}, map[string]string{"status": "simulation.status_required"}},
		{simulation.Input{IncomeCents: -5, Status: "salarie"}, map[string]string{"income_cents": "simulation.income_negative", "status": "simulation.status_unknown"}},
	}
	for _, tt := range tests {
		_, err := simulation.Estimate(tt.in)
		var fe catalog.FieldErrors
		if !errors.As(err, &fe) || failure.KindOf(err) != failure.Invalid || failure.CodeOf(err) != "request.form_invalid" {
			t.Fatalf("%+v: %v", tt.in, err)
		}
		got := map[string]string{}
		for _, p := range fe.Problems() {
			if m, _ := messages.FR(p.Code); p.Message == "" || m != p.Message || !strings.HasPrefix(p.Code, "simulation.") {
				t.Errorf("%s: message %q", p.Code, p.Message)
			}
			got[p.Field] = p.Code
		}
		if !maps.Equal(got, tt.want) {
			t.Errorf("%+v: %v, want %v", tt.in, got, tt.want)
		}
	}
	if _, err := simulation.Estimate(simulation.Input{IncomeCents: simulation.MaxIncomeCents, Status: simulation.ChefExploitation}); err != nil {
		t.Errorf("the maximum itself: %v", err)
	}
}

// FuzzEstimate: Estimate never panics; it refuses exactly the inputs out of bounds, with classified errors; an
// estimate is labelled, its lines add up, no amount is negative; and for one status, a higher income never gives
// a lower line or total.
func FuzzEstimate(f *testing.F) {
	for _, s := range [][3]int64{{0, 0, 1}, {3_000_000, 0, 1}, {1_922_399, 0, 2}, {2_883_600, 0, 1}, {5_286_600, 0, 5},
		{6_728_399, 0, 3}, {-1, 1, 2}, {1_000_000_000, 2, 0}, {500_000, 1, 700_000}, {4_806_000, 0, 1}, {1 << 62, 3, 1}} {
		f.Add(s[0], uint8(s[1]), s[2])
	}
	statuses := append(simulation.Statuses(), "", "inconnu")
	f.Fuzz(func(t *testing.T, income int64, st uint8, delta int64) {
		status := statuses[int(st)%len(statuses)]
		a, err := simulation.Estimate(simulation.Input{IncomeCents: income, Status: status})
		valid := income >= 0 && income <= simulation.MaxIncomeCents && int(st)%len(statuses) < 3
		if (err == nil) != valid {
			t.Fatalf("income %d status %q: err %v", income, status, err)
		}
		if err != nil {
			if failure.KindOf(err) != failure.Invalid || failure.CodeOf(err) != "request.form_invalid" {
				t.Fatalf("unclassified %v", err)
			}
			return
		}
		check(t, a)
		if delta < 0 {
			delta = -(delta + 1)
		}
		higher := income + delta%(simulation.MaxIncomeCents+1)
		if higher > simulation.MaxIncomeCents || higher < income {
			higher = simulation.MaxIncomeCents
		}
		b, err := simulation.Estimate(simulation.Input{IncomeCents: higher, Status: status})
		if err != nil {
			t.Fatal(err)
		}
		check(t, b)
		if b.TotalCents < a.TotalCents || len(a.Lines) != len(b.Lines) {
			t.Fatalf("%s: total %d at %d but %d at %d", status, a.TotalCents, income, b.TotalCents, higher)
		}
		for i := range a.Lines {
			if b.Lines[i].AmountCents < a.Lines[i].AmountCents {
				t.Fatalf("%s %s: %d at %d but %d at %d", status, a.Lines[i].Code, a.Lines[i].AmountCents, income,
					b.Lines[i].AmountCents, higher)
			}
		}
	})
}

func check(t *testing.T, r simulation.Result) {
	t.Helper()
	var sum int64
	for _, l := range r.Lines {
		if l.AmountCents < 0 || l.BaseCents < 0 {
			t.Fatalf("%s: %d on %d", l.Code, l.AmountCents, l.BaseCents)
		}
		sum += l.AmountCents
	}
	if sum != r.TotalCents || r.Label != simulation.Label {
		t.Fatalf("sum %d total %d label %q", sum, r.TotalCents, r.Label)
	}
}

// TestMonotoneAcrossBoundaries walks the incomes around each break of the scales cent by cent.
func TestMonotoneAcrossBoundaries(t *testing.T) {
	for _, status := range simulation.Statuses() {
		for _, edge := range []int64{0, 721_200, 961_600, 552_690, 1_922_400, 2_187_640, 2_883_600, 4_806_000, 5_286_600,
			6_728_400, 898_876, 5_617_978} {
			prev := int64(-1)
			for r := max(0, edge-300); r <= edge+300; r++ {
				e, err := simulation.Estimate(simulation.Input{IncomeCents: r, Status: status})
				if err != nil {
					t.Fatal(err)
				}
				if e.TotalCents < prev {
					t.Fatalf("%s: total falls at %d", status, r)
				}
				prev = e.TotalCents
			}
		}
	}
}
