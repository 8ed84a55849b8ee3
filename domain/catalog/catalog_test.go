package catalog_test

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/catalog/catalogtest"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
)

// seed lists the services of the member guide, by group label, in its order (the guide given to the project, its services page).
var seed = []struct{ group, label string }{
	{"Attestations / Exploitation", "Demander mes attestations professionnelles"},
	{"Attestations / Exploitation", "Demander un changement de situation professionnelle"},
	{"Attestations / Exploitation", "Déclarer un accident du travail ou de trajet non salarié"},
	{"Attestations / Exploitation", "Consulter mes décomptes d'indemnités journalières"},
	{"Cotisations", "Demander la modulation de mes appels fractionnés ou mensuels"},
	{"Cotisations", "Estimer mes cotisations Non Salariés Agricoles"},
	{"Factures et règlement", "Régler mes factures"},
	{"Factures et règlement", "Gérer mes comptes de téléversement"},
	{"Santé / invalidité", "Demander ma carte d'assurance maladie (carte Vitale ou CEAM)"},
	{"Santé / invalidité", "Demander la complémentaire santé solidaire"},
	{"Santé / invalidité", "Demander une pension d'invalidité"},
	{"Santé / invalidité", "Consulter le « Mémo Santé Enfant »"},
	{"Famille / logement", "Déclarer un changement de situation"},
	{"Famille / logement", "Déclarer mes ressources"},
	{"Famille / logement", "Demander mes prestations familiales"},
	{"Famille / logement", "Demander une aide au logement"},
	{"RSA / Prime d'activité", "Demander le RSA ou la prime d'activité"},
	{"RSA / Prime d'activité", "Déclarer mes ressources trimestrielles"},
	{"Retraite", "S'informer sur ma retraite"},
	{"Retraite", "Demander et suivre ma retraite"},
	{"Retraite", "Bien vivre ma retraite"},
	{"Paiements et attestations", "Suivre mes paiements et demander mes attestations"},
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("sample is not JSON: %v", err)
	}
	return m
}

func TestEveryServiceOfTheSeed(t *testing.T) {
	c := catalog.Current()
	groups := map[string]catalog.Group{}
	for _, g := range c.Groups() {
		groups[g.Code] = g
	}
	services := c.Services()
	if len(services) != len(seed) {
		t.Fatalf("%d services, want the %d of the seed", len(services), len(seed))
	}
	codes := map[string]bool{}
	for i, s := range services {
		if codes[s.Code] {
			t.Errorf("code %q twice", s.Code)
		}
		codes[s.Code] = true
		if s.Code == "" || strings.ToLower(s.Code) != s.Code || strings.ContainsAny(s.Code, " _") {
			t.Errorf("code %q is not lower-case kebab", s.Code)
		}
		if s.Label != seed[i].label || groups[s.Group].Label != seed[i].group {
			t.Errorf("service %d = %q in %q, want %q in %q", i, s.Label, groups[s.Group].Label, seed[i].label, seed[i].group)
		}
		switch s.Kind {
		case catalog.KindRequest, catalog.KindSimulation, catalog.KindConsultation, catalog.KindInformation:
		default:
			t.Errorf("%s: kind %q", s.Code, s.Kind)
		}
		if s.Description == "" {
			t.Errorf("%s: no description", s.Code)
		}
		if s.Kind != catalog.KindRequest {
			if len(s.Fields) != 0 || s.Queue != "" || s.Silence != (catalog.SilenceRule{}) {
				t.Errorf("%s: a %s has request data", s.Code, s.Kind)
			}
			if _, err := c.Validate(s.Code, map[string]any{}); !errors.Is(err, catalog.ErrNotARequest) {
				t.Errorf("%s: Validate = %v, want ErrNotARequest", s.Code, err)
			}
			continue
		}
		checkRequest(t, c, s)
	}
	for _, code := range []string{"attestations-pro", "accident-travail-non-salarie", "estimation-cotisations-nsa"} {
		if !codes[code] {
			t.Errorf("stable code %q missing", code)
		}
	}
}

func checkRequest(t *testing.T, c *catalog.Catalog, s catalog.Service) {
	t.Helper()
	if _, ok := c.Queue(s.Queue); !ok {
		t.Errorf("%s: queue %q not in the catalogue", s.Code, s.Queue)
	}
	if s.TargetHandlingDays <= 0 || len(s.AppealRoutes) == 0 || len(s.Fields) == 0 {
		t.Errorf("%s: target %d days, %d appeal routes, %d fields", s.Code, s.TargetHandlingDays, len(s.AppealRoutes), len(s.Fields))
	}
	r := s.Silence
	switch r.Outcome {
	case catalog.SilenceAcceptance, catalog.SilenceRejection:
		if r.AfterMonths <= 0 || s.TargetHandlingDays > 31*r.AfterMonths {
			t.Errorf("%s: silence after %d months, target %d days", s.Code, r.AfterMonths, s.TargetHandlingDays)
		}
	case catalog.SilenceNone:
		if r.AfterMonths != 0 {
			t.Errorf("%s: no implicit decision but a delay", s.Code)
		}
	default:
		t.Errorf("%s: silence outcome %q", s.Code, r.Outcome)
	}
	if r.Basis == "" || r.Notice == "" {
		t.Errorf("%s: silence rule without basis or notice", s.Code)
	}
	names := map[string]bool{}
	for _, f := range s.Fields {
		if names[f.Name] || f.Name == "" || f.Label == "" {
			t.Errorf("%s: field %q duplicated or unlabelled", s.Code, f.Name)
		}
		names[f.Name] = true
		if (f.Type == catalog.FieldChoice) != (len(f.Options) > 0) {
			t.Errorf("%s.%s: options on a %s", s.Code, f.Name, f.Type)
		}
	}
}

// TestSamples checks catalogtest's samples against the catalogue: one for every request service and no other, the
// valid one accepted (and stable through normalisation and JSON), the invalid one refused naming exactly its fields.
func TestSamples(t *testing.T) {
	c := catalog.Current()
	requests := 0
	for _, s := range c.Services() {
		if s.Kind != catalog.KindRequest {
			if _, ok := catalogtest.For(s.Code); ok {
				t.Errorf("sample for %s, which is not a request", s.Code)
			}
			continue
		}
		requests++
		t.Run(s.Code, func(t *testing.T) {
			sm, ok := catalogtest.For(s.Code)
			if !ok {
				t.Fatal("no sample")
			}
			got, err := c.Validate(s.Code, sm.ValidForm())
			if err != nil {
				t.Fatalf("valid sample: %v", err)
			}
			if s.Queue == "" {
				t.Fatal("reaches no queue")
			}
			again, err := c.Validate(s.Code, got)
			if err != nil || !maps.Equal(again, got) {
				t.Fatalf("normalising again = %v, %v; want %v", again, err, got)
			}
			raw, _ := json.Marshal(got)
			if back, err := c.Validate(s.Code, decode(t, string(raw))); err != nil || !maps.Equal(back, got) {
				t.Fatalf("through JSON = %v, %v", back, err)
			}

			_, err = c.Validate(s.Code, sm.InvalidForm())
			var fe catalog.FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("invalid sample: %v, want FieldErrors", err)
			}
			if failure.KindOf(err) != failure.Invalid || failure.CodeOf(err) != "request.form_invalid" ||
				!errors.Is(err, catalog.ErrFormInvalid) {
				t.Errorf("kind %v code %q", failure.KindOf(err), failure.CodeOf(err))
			}
			gotErrs := map[string]string{}
			for _, p := range fe.Problems() {
				if m, _ := messages.FR(p.Code); p.Message == "" || m != p.Message {
					t.Errorf("%s: message %q", p.Field, p.Message)
				}
				gotErrs[p.Field] = p.Code
			}
			if !maps.Equal(gotErrs, sm.WantErrors) {
				t.Errorf("field errors = %v, want %v", gotErrs, sm.WantErrors)
			}
		})
	}
	if n := len(catalogtest.Codes()); n != requests {
		t.Errorf("%d samples for %d request services", n, requests)
	}
}

func TestValidateNormalises(t *testing.T) {
	c := catalog.Current()
	got, err := c.Validate("modulation-appels-cotisations", map[string]any{
		"year": json.Number("2026"), "current_mode": " split ", "estimated_income": "1850000",
		"requested_basis": nil, "reason": "   ", "sworn_statement": "true",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"year": int64(2026), "current_mode": "split", "estimated_income": int64(1850000),
		"sworn_statement": true}
	if !maps.Equal(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func TestValidateReportsEveryFieldInFormOrder(t *testing.T) {
	_, err := catalog.Current().Validate("attestations-pro", map[string]any{"zeta": 1, "alpha": 2})
	var fe catalog.FieldErrors
	if !errors.As(err, &fe) {
		t.Fatal(err)
	}
	var fields []string
	for _, p := range fe.Problems() {
		fields = append(fields, p.Field+"="+p.Code)
	}
	want := "attestation_type=form.required year=form.required copies=form.required alpha=form.unknown_field zeta=form.unknown_field"
	if got := strings.Join(fields, " "); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if failure.FieldOf(err) != "attestation_type" || !errors.Is(err, catalog.ErrRequired) {
		t.Errorf("FieldOf = %q", failure.FieldOf(err))
	}
	if strings.Contains(err.Error(), "2") {
		t.Errorf("error message leaks values: %s", err)
	}
}

func TestValidateRejectsOddNumbers(t *testing.T) {
	c := catalog.Current()
	sm, _ := catalogtest.For("modulation-appels-cotisations")
	base := sm.ValidForm()
	for _, v := range []any{1e300, -0.5, 9007199254740993.0, "12,50", "1e6", "", true, []any{1}} {
		form := maps.Clone(base)
		form["estimated_income"] = v
		if _, err := c.Validate("modulation-appels-cotisations", form); !errors.Is(err, catalog.ErrInvalidAmount) &&
			!errors.Is(err, catalog.ErrBelowMinimum) && !errors.Is(err, catalog.ErrAboveMaximum) {
			t.Errorf("%#v: %v", v, err)
		}
	}
}

func TestUnknownService(t *testing.T) {
	c := catalog.Current()
	if _, err := c.Lookup("carte-grise"); !errors.Is(err, catalog.ErrUnknownService) ||
		failure.KindOf(err) != failure.Invalid || failure.CodeOf(err) != "catalog.unknown_service" {
		t.Fatalf("Lookup = %v", err)
	}
	if _, err := c.Validate("carte-grise", nil); !errors.Is(err, catalog.ErrUnknownService) {
		t.Fatalf("Validate = %v", err)
	}
}

func TestVersionsAndETag(t *testing.T) {
	c := catalog.Current()
	if c.Version() != catalog.CurrentVersion {
		t.Fatalf("version %q", c.Version())
	}
	old, err := catalog.Load(catalog.Version2026_1)
	if err != nil || old.ETag() != c.ETag() {
		t.Fatalf("Load = %v, %v", old, err)
	}
	if _, err := catalog.Load("1999.1"); !errors.Is(err, catalog.ErrUnknownVersion) || failure.KindOf(err) != failure.NotFound {
		t.Fatalf("Load(unknown) = %v", err)
	}
	if len(catalog.Versions()) == 0 || catalog.Versions()[0] != catalog.Version2026_1 {
		t.Fatalf("Versions = %v", catalog.Versions())
	}
	e := c.ETag()
	if !strings.HasPrefix(e, `"`) || !strings.HasSuffix(e, `"`) || len(e) != 34 || catalog.Current().ETag() != e {
		t.Fatalf("ETag %s", e)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version  string            `json:"version"`
		Services []catalog.Service `json:"services"`
		Queues   []catalog.Queue   `json:"queues"`
		Groups   []catalog.Group   `json:"groups"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Version != c.Version() || len(doc.Services) != 22 ||
		len(doc.Groups) != 8 || len(doc.Queues) == 0 {
		t.Fatalf("JSON: %v %+v", err, doc.Version)
	}
	if !strings.Contains(string(raw), `"silence":{"outcome":"acceptance"`) || strings.Contains(string(raw), `"silence":{}`) {
		t.Errorf("silence JSON not as expected")
	}
}

func TestAccessorsReturnCopies(t *testing.T) {
	c := catalog.Current()
	before := c.ETag()
	s := c.Services()
	s[0].Label = "changed"
	s[0].Fields[0].Options[0].Code = "changed"
	*s[1].Fields[4].Max = 1
	l, _ := c.Lookup("attestations-pro")
	l.AppealRoutes[0] = "changed"
	if got, _ := c.Lookup("attestations-pro"); got.Label == "changed" || got.Fields[0].Options[0].Code == "changed" ||
		got.AppealRoutes[0] == "changed" {
		t.Fatal("a caller mutated the catalogue")
	}
	if f, _ := c.Services()[1].Field("land_area_ares"); *f.Max == 1 {
		t.Fatal("a caller mutated a bound")
	}
	if c.ETag() != before {
		t.Fatal("ETag moved")
	}
}

func TestDecisionDate(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = time.FixedZone("CET", 3600)
	}
	accept := catalog.SilenceRule{Outcome: catalog.SilenceAcceptance, AfterMonths: 2}
	tests := []struct{ received, want string }{
		{"2026-03-15T10:00:00", "2026-05-15T10:00:00"},
		{"2025-12-31T09:00:00", "2026-02-28T09:00:00"}, // no 31 February: the last day of the month
		{"2027-12-30T09:00:00", "2028-02-29T09:00:00"},
		{"2026-11-30T23:59:00", "2027-01-30T23:59:00"},
	}
	for _, tt := range tests {
		rec, _ := time.ParseInLocation("2006-01-02T15:04:05", tt.received, paris)
		got, ok := accept.DecisionDate(rec)
		if !ok || got.Format("2006-01-02T15:04:05") != tt.want {
			t.Errorf("DecisionDate(%s) = %s, %v; want %s", tt.received, got, ok, tt.want)
		}
	}
	if _, ok := (catalog.SilenceRule{Outcome: catalog.SilenceNone}).DecisionDate(time.Now()); ok {
		t.Error("SilenceNone gave a date")
	}
}

func TestMessages(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range catalog.Errors() {
		code := e.Code
		if seen[code] {
			t.Fatal("duplicate codes")
		}
		seen[code] = true
		if m, _ := messages.FR(code); m == "" || !(strings.HasPrefix(code, "form.") || strings.HasPrefix(code, "catalog.") || code == "request.form_invalid") {
			t.Errorf("%s: %q", code, m)
		}
	}
}

// FuzzValidate: whatever a field holds, Validate never panics, and either normalises the form to one that
// validates to itself or returns a FieldErrors whose every problem has a known code.
func FuzzValidate(f *testing.F) {
	f.Add("modulation-appels-cotisations", "estimated_income", "12")
	f.Add("aide-logement", "move_in_date", "2026-02-29")
	f.Add("prestations-familiales", "iban", "FR76\x00")
	c := catalog.Current()
	f.Fuzz(func(t *testing.T, code, field, value string) {
		sm, ok := catalogtest.For(code)
		if !ok {
			return
		}
		form := sm.ValidForm()
		form[field] = value
		got, err := c.Validate(code, form)
		if err == nil {
			if again, err := c.Validate(code, got); err != nil || !maps.Equal(again, got) {
				t.Fatalf("not idempotent: %v", err)
			}
			return
		}
		var fe catalog.FieldErrors
		if !errors.As(err, &fe) || len(fe) == 0 {
			t.Fatalf("%v", err)
		}
		for _, p := range fe.Problems() {
			if m, _ := messages.FR(p.Code); m == "" {
				t.Fatalf("code %q", p.Code)
			}
		}
	})
}

// TestEveryQueueHasAServiceInCharge: every queue of every published version is handled by a service the
// acknowledgement can name in full (CRPA R112-5 2°).
func TestEveryQueueHasAServiceInCharge(t *testing.T) {
	for _, v := range catalog.Versions() {
		c, err := catalog.Load(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range c.Queues() {
			s, ok := catalog.InCharge(q.Code)
			if !ok || !s.Complete() {
				t.Errorf("%s: queue %s: service in charge %+v", v, q.Code, s)
			}
		}
	}
	if _, ok := catalog.InCharge("nowhere"); ok {
		t.Error("a service in charge for an unknown queue")
	}
}
