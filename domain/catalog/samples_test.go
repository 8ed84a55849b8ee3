package catalog_test

// sample is a valid form and an invalid one for a request service, as JSON (so numbers arrive as float64, as from
// the HTTP layer), with the fields the invalid one must name and their codes.
type sample struct {
	valid, invalid string
	wantErrors     map[string]string // field → code
}

var samples = map[string]sample{
	"attestations-pro": {
		valid:      `{"attestation_type":"affiliation-nsa","year":2026,"copies":1}`,
		invalid:    `{"attestation_type":"carte-grise","year":1999,"copies":0}`,
		wantErrors: map[string]string{"attestation_type": "form.not_in_choices", "year": "form.below_minimum", "copies": "form.below_minimum"},
	},
	"changement-situation-pro": {
		valid:      `{"change_type":"statute","effective_date":"2026-04-01","new_statute":"collaborateur","siret":"12345678901234","land_area_ares":4500,"sworn_statement":true}`,
		invalid:    `{"change_type":"statute","effective_date":"2026-02-30","siret":"1234","sworn_statement":false}`,
		wantErrors: map[string]string{"effective_date": "form.invalid_date", "siret": "form.invalid_format", "sworn_statement": "form.must_be_true"},
	},
	"accident-travail-non-salarie": {
		valid:      `{"victim":"self","accident_date":"2026-03-02","accident_time":"09:30","place":"Parcelle des Grands Champs","accident_kind":"work","circumstances":"Chute depuis la remorque en déchargeant des ballots.","work_stopped":true,"sworn_statement":true}`,
		invalid:    `{"victim":"self","accident_date":"02/03/2026","accident_kind":"work","circumstances":"   ","work_stopped":"peut-être","sworn_statement":true}`,
		wantErrors: map[string]string{"accident_date": "form.invalid_date", "accident_time": "form.required", "place": "form.required", "circumstances": "form.required", "work_stopped": "form.invalid_boolean"},
	},
	"modulation-appels-cotisations": {
		valid:      `{"year":2026,"current_mode":"monthly","estimated_income":1850000,"sworn_statement":true}`,
		invalid:    `{"year":2026,"current_mode":"monthly","estimated_income":-5,"requested_basis":12.5,"sworn_statement":true}`,
		wantErrors: map[string]string{"estimated_income": "form.below_minimum", "requested_basis": "form.invalid_amount"},
	},
	"comptes-televersement": {
		valid:      `{"action":"grant","delegate_name":"Cabinet Comptable du Bocage","delegate_siret":"98765432109876","scope":"payroll","valid_from":"2026-05-01"}`,
		invalid:    `{"action":"grant","delegate_name":"Cabinet","scope":"payroll","valid_from":"2026-05-01","nir":"185037511504216"}`,
		wantErrors: map[string]string{"delegate_siret": "form.required", "nir": "form.unknown_field"},
	},
	"carte-assurance-maladie": {
		valid:      `{"card":"ceam","beneficiary":"Jeanne Martin","departure_date":"2026-07-10","destination":"Espagne","stay_days":21}`,
		invalid:    `{"card":"passport","beneficiary":"Jeanne Martin","stay_days":0}`,
		wantErrors: map[string]string{"card": "form.not_in_choices", "stay_days": "form.below_minimum"},
	},
	"complementaire-sante-solidaire": {
		valid:      `{"household_situation":"couple","household_size":3,"resources_12_months":1420000,"housing":"tenant","managing_body":"msa","sworn_statement":true}`,
		invalid:    `{"household_situation":"couple","household_size":3,"resources_12_months":"beaucoup","housing":"tenant","managing_body":"msa"}`,
		wantErrors: map[string]string{"resources_12_months": "form.invalid_amount", "sworn_statement": "form.required"},
	},
	"pension-invalidite": {
		valid:      `{"status":"nsa","requested_category":"partial","sick_leave_or_stabilisation_date":"2025-11-15","attending_doctor":"Dr Durand, Tulle","still_working":false,"sworn_statement":true}`,
		invalid:    `{"status":"nsa","requested_category":"partial","sick_leave_or_stabilisation_date":"2025-11-15","attending_doctor":"Dr Durand","still_working":false,"activity_income":100000001,"sworn_statement":true}`,
		wantErrors: map[string]string{"activity_income": "form.above_maximum"},
	},
	"changement-situation": {
		valid:      `{"event_type":"birth-adoption","effective_date":"2026-01-20","persons_concerned":"Léa Martin, née le 20 janvier 2026","sworn_statement":true}`,
		invalid:    `{"event_type":"birth-adoption","effective_date":"1850-01-01","persons_concerned":"Léa\u0000","sworn_statement":true}`,
		wantErrors: map[string]string{"effective_date": "form.date_out_of_range", "persons_concerned": "form.invalid_text"},
	},
	"declaration-ressources": {
		valid:      `{"year":2025,"activity_income":2150000,"pensions":0,"sworn_statement":true}`,
		invalid:    `{"year":"deux mille","sworn_statement":true}`,
		wantErrors: map[string]string{"year": "form.invalid_integer"},
	},
	"prestations-familiales": {
		valid:      `{"benefit":"ars","household_situation":"single","dependent_children":2,"household_resources":2400000,"iban":"FR7630006000011234567890189","sworn_statement":true}`,
		invalid:    `{"benefit":"ars","household_situation":"single","dependent_children":21,"household_resources":2400000,"iban":"fr76 3000","sworn_statement":true}`,
		wantErrors: map[string]string{"dependent_children": "form.above_maximum", "iban": "form.invalid_format"},
	},
	"aide-logement": {
		valid:      `{"address":"12 rue des Tilleuls, 19000 Tulle","tenure":"tenant","landlord_name":"Office public de l'habitat","monthly_rent":45000,"surface_m2":52,"move_in_date":"2026-02-01","flat_share":false,"household_size":2,"resources_12_months":1800000,"sworn_statement":true}`,
		invalid:    `{"address":"12 rue des Tilleuls","tenure":"tenant","landlord_name":"OPH","monthly_rent":45000,"surface_m2":52.5,"move_in_date":"2026-02-01","household_size":2,"resources_12_months":1800000,"sworn_statement":true}`,
		wantErrors: map[string]string{"surface_m2": "form.invalid_integer", "flat_share": "form.required"},
	},
	"rsa-prime-activite": {
		valid:      `{"benefit":"ppa","household_situation":"single","dependent_children":0,"resident_in_france":true,"resources_month_1":98000,"resources_month_2":102000,"resources_month_3":99000,"activity_status":"employed","iban":"FR7630006000011234567890189","sworn_statement":true}`,
		invalid:    `{"benefit":"aah","household_situation":"single","dependent_children":0,"resident_in_france":true,"resources_month_1":98000,"resources_month_3":99000,"activity_status":"employed","iban":"FR7630006000011234567890189","sworn_statement":true}`,
		wantErrors: map[string]string{"benefit": "form.not_in_choices", "resources_month_2": "form.required"},
	},
	"ressources-trimestrielles": {
		valid:      `{"year":2026,"quarter":1,"month_1_income":120000,"month_2_income":118000,"month_3_income":0,"situation_changed":false,"sworn_statement":true}`,
		invalid:    `{"year":2026,"quarter":5,"month_1_income":120000,"month_2_income":118000,"month_3_income":0,"situation_changed":false,"sworn_statement":true}`,
		wantErrors: map[string]string{"quarter": "form.above_maximum"},
	},
	"demande-retraite": {
		valid:      `{"desired_start_date":"2026-11-01","children_raised":2,"marital_status":"married","long_career":false,"farm_ceased":true,"iban":"FR7630006000011234567890189","sworn_statement":true}`,
		invalid:    `{"desired_start_date":"2026-11-31","children_raised":2,"marital_status":"married","long_career":false,"sworn_statement":true}`,
		wantErrors: map[string]string{"desired_start_date": "form.invalid_date", "iban": "form.required"},
	},
	"bien-vivre-retraite": {
		valid:      `{"need":"isolation","lives_alone":true,"situation":"Veuve depuis un an, je vis loin du bourg et ne conduis plus.","callback_consent":true}`,
		invalid:    `{"need":"isolation","lives_alone":true,"situation":"` + longText + `","callback_consent":true}`,
		wantErrors: map[string]string{"situation": "form.too_long"},
	},
}

var longText = func() string {
	b := make([]byte, 2001)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}()
