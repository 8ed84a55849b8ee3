// Package catalogtest holds, for every request service of the current catalogue, a valid and an invalid sample
// form: the one source the catalogue's own tests, the command tests and the HTTP acceptance tests submit. It is a
// test-support package (imported only by tests).
package catalogtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Sample is a valid form and an invalid one for a request service, as JSON (decoded with Form, numbers arrive as
// float64, as from the HTTP layer), with the fields the invalid one must name and the code of each.
type Sample struct {
	Valid, Invalid string
	// WantErrors maps each field the invalid form gets wrong to the code its problem has (form.*).
	WantErrors map[string]string
}

// ValidForm returns the valid form decoded.
func (s Sample) ValidForm() map[string]any { return Form(s.Valid) }

// InvalidForm returns the invalid form decoded.
func (s Sample) InvalidForm() map[string]any { return Form(s.Invalid) }

// For returns the sample of the service with that code, and false for a service without one (a service that is
// not a request). The result is a copy.
func For(code string) (Sample, bool) {
	s, ok := samples[code]
	if !ok {
		return Sample{}, false
	}
	s.WantErrors = maps.Clone(s.WantErrors)
	return s, true
}

// Codes returns the codes of the services that have a sample, sorted.
func Codes() []string { return slices.Sorted(maps.Keys(samples)) }

// Form decodes a JSON form as the HTTP layer does (numbers as float64). A sample that is not JSON is a bug of this
// package: it panics.
func Form(raw string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		panic(fmt.Sprintf("catalogtest: sample is not JSON: %v", err))
	}
	return m
}

// samples are by service code; every request service of the current catalogue has one (catalog's TestSamples).
var samples = map[string]Sample{
	"attestations-pro": {
		Valid:      `{"attestation_type":"affiliation-nsa","year":2026,"copies":1}`,
		Invalid:    `{"attestation_type":"carte-grise","year":1999,"copies":0}`,
		WantErrors: map[string]string{"attestation_type": "form.not_in_choices", "year": "form.below_minimum", "copies": "form.below_minimum"},
	},
	"changement-situation-pro": {
		Valid:      `{"change_type":"statute","effective_date":"2026-04-01","new_statute":"collaborateur","siret":"12345678901234","land_area_ares":4500,"sworn_statement":true}`,
		Invalid:    `{"change_type":"statute","effective_date":"2026-02-30","siret":"1234","sworn_statement":false}`,
		WantErrors: map[string]string{"effective_date": "form.invalid_date", "siret": "form.invalid_format", "sworn_statement": "form.must_be_true"},
	},
	"accident-travail-non-salarie": {
		Valid:      `{"victim":"self","accident_date":"2026-03-02","accident_time":"09:30","place":"Parcelle des Grands Champs","accident_kind":"work","circumstances":"Chute depuis la remorque en déchargeant des ballots.","work_stopped":true,"sworn_statement":true}`,
		Invalid:    `{"victim":"self","accident_date":"02/03/2026","accident_kind":"work","circumstances":"   ","work_stopped":"peut-être","sworn_statement":true}`,
		WantErrors: map[string]string{"accident_date": "form.invalid_date", "accident_time": "form.required", "place": "form.required", "circumstances": "form.required", "work_stopped": "form.invalid_boolean"},
	},
	"modulation-appels-cotisations": {
		Valid:      `{"year":2026,"current_mode":"monthly","estimated_income":1850000,"sworn_statement":true}`,
		Invalid:    `{"year":2026,"current_mode":"monthly","estimated_income":-5,"requested_basis":12.5,"sworn_statement":true}`,
		WantErrors: map[string]string{"estimated_income": "form.below_minimum", "requested_basis": "form.invalid_amount"},
	},
	"comptes-televersement": {
		Valid:      `{"action":"grant","delegate_name":"Cabinet Comptable du Bocage","delegate_siret":"98765432109876","scope":"payroll","valid_from":"2026-05-01"}`,
		Invalid:    `{"action":"grant","delegate_name":"Cabinet","scope":"payroll","valid_from":"2026-05-01","nir":"185037511504216"}`,
		WantErrors: map[string]string{"delegate_siret": "form.required", "nir": "form.unknown_field"},
	},
	"carte-assurance-maladie": {
		Valid:      `{"card":"ceam","beneficiary":"Jeanne Martin","departure_date":"2026-07-10","destination":"Espagne","stay_days":21}`,
		Invalid:    `{"card":"passport","beneficiary":"Jeanne Martin","stay_days":0}`,
		WantErrors: map[string]string{"card": "form.not_in_choices", "stay_days": "form.below_minimum"},
	},
	"complementaire-sante-solidaire": {
		Valid:      `{"household_situation":"couple","household_size":3,"resources_12_months":1420000,"housing":"tenant","managing_body":"msa","sworn_statement":true}`,
		Invalid:    `{"household_situation":"couple","household_size":3,"resources_12_months":"beaucoup","housing":"tenant","managing_body":"msa"}`,
		WantErrors: map[string]string{"resources_12_months": "form.invalid_amount", "sworn_statement": "form.required"},
	},
	"pension-invalidite": {
		Valid:      `{"status":"nsa","requested_category":"partial","sick_leave_or_stabilisation_date":"2025-11-15","attending_doctor":"Dr Durand, Tulle","still_working":false,"sworn_statement":true}`,
		Invalid:    `{"status":"nsa","requested_category":"partial","sick_leave_or_stabilisation_date":"2025-11-15","attending_doctor":"Dr Durand","still_working":false,"activity_income":100000001,"sworn_statement":true}`,
		WantErrors: map[string]string{"activity_income": "form.above_maximum"},
	},
	"changement-situation": {
		Valid:      `{"event_type":"birth-adoption","effective_date":"2026-01-20","persons_concerned":"Léa Martin, née le 20 janvier 2026","sworn_statement":true}`,
		Invalid:    `{"event_type":"birth-adoption","effective_date":"1850-01-01","persons_concerned":"Léa\u0000","sworn_statement":true}`,
		WantErrors: map[string]string{"effective_date": "form.date_out_of_range", "persons_concerned": "form.invalid_text"},
	},
	"declaration-ressources": {
		Valid:      `{"year":2025,"activity_income":2150000,"pensions":0,"sworn_statement":true}`,
		Invalid:    `{"year":"deux mille","sworn_statement":true}`,
		WantErrors: map[string]string{"year": "form.invalid_integer"},
	},
	"prestations-familiales": {
		Valid:      `{"benefit":"ars","household_situation":"single","dependent_children":2,"household_resources":2400000,"iban":"FR7630006000011234567890189","sworn_statement":true}`,
		Invalid:    `{"benefit":"ars","household_situation":"single","dependent_children":21,"household_resources":2400000,"iban":"fr76 3000","sworn_statement":true}`,
		WantErrors: map[string]string{"dependent_children": "form.above_maximum", "iban": "form.invalid_format"},
	},
	"aide-logement": {
		Valid:      `{"address":"12 rue des Tilleuls, 19000 Tulle","tenure":"tenant","landlord_name":"Office public de l'habitat","monthly_rent":45000,"surface_m2":52,"move_in_date":"2026-02-01","flat_share":false,"household_size":2,"resources_12_months":1800000,"sworn_statement":true}`,
		Invalid:    `{"address":"12 rue des Tilleuls","tenure":"tenant","landlord_name":"OPH","monthly_rent":45000,"surface_m2":52.5,"move_in_date":"2026-02-01","household_size":2,"resources_12_months":1800000,"sworn_statement":true}`,
		WantErrors: map[string]string{"surface_m2": "form.invalid_integer", "flat_share": "form.required"},
	},
	"rsa-prime-activite": {
		Valid:      `{"benefit":"ppa","household_situation":"single","dependent_children":0,"resident_in_france":true,"resources_month_1":98000,"resources_month_2":102000,"resources_month_3":99000,"activity_status":"employed","iban":"FR7630006000011234567890189","sworn_statement":true}`,
		Invalid:    `{"benefit":"aah","household_situation":"single","dependent_children":0,"resident_in_france":true,"resources_month_1":98000,"resources_month_3":99000,"activity_status":"employed","iban":"FR7630006000011234567890189","sworn_statement":true}`,
		WantErrors: map[string]string{"benefit": "form.not_in_choices", "resources_month_2": "form.required"},
	},
	"ressources-trimestrielles": {
		Valid:      `{"year":2026,"quarter":1,"month_1_income":120000,"month_2_income":118000,"month_3_income":0,"situation_changed":false,"sworn_statement":true}`,
		Invalid:    `{"year":2026,"quarter":5,"month_1_income":120000,"month_2_income":118000,"month_3_income":0,"situation_changed":false,"sworn_statement":true}`,
		WantErrors: map[string]string{"quarter": "form.above_maximum"},
	},
	"demande-retraite": {
		Valid:      `{"desired_start_date":"2026-11-01","children_raised":2,"marital_status":"married","long_career":false,"farm_ceased":true,"iban":"FR7630006000011234567890189","sworn_statement":true}`,
		Invalid:    `{"desired_start_date":"2026-11-31","children_raised":2,"marital_status":"married","long_career":false,"sworn_statement":true}`,
		WantErrors: map[string]string{"desired_start_date": "form.invalid_date", "iban": "form.required"},
	},
	"bien-vivre-retraite": {
		Valid:      `{"need":"isolation","lives_alone":true,"situation":"Veuve depuis un an, je vis loin du bourg et ne conduis plus.","callback_consent":true}`,
		Invalid:    `{"need":"isolation","lives_alone":true,"situation":"` + longText + `","callback_consent":true}`,
		WantErrors: map[string]string{"situation": "form.too_long"},
	},
}

// longText is one character over a text field's 2,000.
var longText = strings.Repeat("a", 2001)
