// Package simulation is "Estimer mes cotisations Non Salariés Agricoles": a pure function from a declared
// professional income and a status to an itemised estimate of a year's contributions. Estimate stores nothing;
// only a member who asks to keep an estimate records it, as an EstimateSaved on their own stream (saved.go,
// command.SaveEstimate).
//
// # The simplified model
//
// The figures below were checked in November 2026 against public secondary sources (listed under "Sources"), not
// against the MSA's own 2026 scales, which were not reachable from here: figures a source confirms for a recent year
// carry that year; figures no source confirmed are marked [~] and must be checked before the estimate is shown as
// more than indicative. The real computation has options this one ignores (assessment on the average of 3 years or
// on the previous year, first-year flat bases, young farmers' exemptions, deficits, the CSG base re-integrating
// contributions, the collaborator's option for a share of the farm income, departmental ATEXA categories,
// secondary activity rates, supplementary pensions). Hence every Result is labelled "Estimation indicative".
//
// Constants: PASS (plafond annuel de la sécurité sociale) 48 060 € (2026); SMIC horaire 12,02 € [~].
//
// Chef d'exploitation ou d'entreprise agricole (à titre exclusif ou principal), on the professional income R:
//
//	AMEXA maladie-maternité   rate applied to the whole of R (since 2022): 0 % up to 40 % PASS, rising linearly to
//	                          4 % at 60 % PASS, then to 6,5 % at 110 % PASS, 6,5 % above [S-A]
//	IJ AMEXA                  flat 250 € a year (from 2025) [S-IJ]
//	invalidité                1,10 % of max(R, 11,5 % PASS) [~ rate; floor S-A2]
//	AVI                       3,32 % of R, floor 800 SMIC horaires, ceiling 1 PASS [S-R]
//	AVA plafonnée             11,55 % of R, floor 600 SMIC horaires, ceiling 1 PASS [S-R]
//	AVA déplafonnée           2,24 % of R, floor 600 SMIC horaires [S-R]
//	RCO (complémentaire)      4,00 % of R, floor 1 820 SMIC horaires [S-RCO]
//	prestations familiales    rate on the whole of R: 0 % up to 110 % PASS, rising linearly to 3,10 % at 140 %
//	                          PASS, 3,10 % above [S-A]
//	ATEXA                     flat 470 € a year [~ category D was 464 € in 2020, S-RCO]
//	CSG-CRDS                  9,70 % of R (CSG 9,20 % + CRDS 0,50 %) [~ base simplified]
//	formation (VIVEA)         0,89 % of R, at least 80 €, at most 500 € [~]
//
// Collaborateur d'exploitation: flat bases, whatever the income (which is validated but not used):
//
//	AVI 3,32 % and AVA plafonnée 11,55 % of 400 SMIC horaires [~]; RCO 4,00 % of 1 200 SMIC horaires [S-RCO];
//	ATEXA flat 280 € [~]; formation (VIVEA) flat 80 € [~]. (AMEXA and family benefits are paid by the chef
//	d'exploitation.)
//
// Cotisant de solidarité: cotisation de solidarité 16 % of R [S-CS]; ATEXA flat 60 € [~]; CSG-CRDS 9,70 % of R.
//
// # Sources
//
//	[S-A]   AMEXA and family-benefit scales since the law of 16 August 2022: caracterres.fr "Amexa : des cotisations
//	        sociales plus modulables"; sorogec.com (2023 table: 0 % < 40 % PASS, 0–4 % to 60 %, 4–6,5 % to 110 %)
//	[S-A2]  lafranceagricole.fr 2021 (invalidité on a minimum base of 11,5 % PASS; the rate was 1 % then)
//	[S-IJ]  audrex.fr, arrêté du 22 décembre 2023: IJ AMEXA 200 € (2023), 230 € (2024), 250 € from 2025
//	[S-R]   previssima.fr (2025: AVI base 800 SMIC, AVA 600 SMIC, ceiling PASS); reussir.fr (rates 3,32 %, 2,24 %)
//	[S-RCO] acquisitions-entreprises.com (RCO 4 %, minimum 1 820 SMIC; collaborators 1 200 SMIC; ATEXA 2020)
//	[S-CS]  installer-transmettre-normandie.fr (cotisation de solidarité: 16 % of professional income)
//
// # Rounding
//
// Amounts are euro cents (int64). Each line is computed exactly in integers (rates in hundred-thousandths, a
// progressive rate as one exact fraction) and rounded once, half up, to the cent; the total is the sum of the
// rounded lines, so the lines displayed always add up to the total. Every line is non-decreasing in the income
// (rates never decrease as the income rises, floors and ceilings are monotone), so the total is too.
package simulation

import (
	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Status is the member's status in the non-salaried agricultural scheme.
type Status string

// The statuses the estimate knows.
const (
	ChefExploitation   Status = "chef_exploitation"   // chef d'exploitation ou d'entreprise agricole
	Collaborateur      Status = "collaborateur"       // collaborateur d'exploitation
	CotisantSolidarite Status = "cotisant_solidarite" // cotisant de solidarité (small farm below the threshold)
)

// Statuses returns the known statuses, in display order.
func Statuses() []Status { return []Status{ChefExploitation, Collaborateur, CotisantSolidarite} }

// RatesYear is the year whose (approximate) rates the estimate applies.
const RatesYear = 2026

// MaxIncomeCents is the largest income accepted: 10 million euros, far above any farm income, low enough that no
// computation overflows.
const MaxIncomeCents int64 = 1_000_000_000

// Label and Disclaimer go with every estimate.
const (
	Label      = "Estimation indicative"
	Disclaimer = "Estimation indicative calculée avec des taux simplifiés et approchés pour 2026. Elle ne tient pas " +
		"compte de toutes les options de calcul (assiette triennale ou annuelle, début d'activité, déficits) et " +
		"n'engage pas la MSA : seul l'appel de cotisations fait foi."
)

// The errors of the simulation, each about one field of Input, returned inside a catalog.FieldErrors.
var (
	ErrIncomeNegative = failure.New(failure.Invalid, "simulation.income_negative", "negative income")
	ErrIncomeTooHigh  = failure.New(failure.Invalid, "simulation.income_too_high",
		"income above the simulator's maximum")
	ErrStatusRequired = failure.New(failure.Invalid, "simulation.status_required", "status required")
	ErrStatusUnknown  = failure.New(failure.Invalid, "simulation.status_unknown", "unknown status")
)

// Input is what the member declares.
type Input struct {
	// IncomeCents is the annual professional income, in euro cents, 0 to MaxIncomeCents.
	IncomeCents int64  `json:"income_cents"`
	Status      Status `json:"status"`
}

// Line is one contribution of the estimate.
type Line struct {
	Code  string `json:"code"`
	Label string `json:"label"`
	// BaseCents is the base the rate applied to, after floors and ceilings (0 for a flat fee).
	BaseCents int64 `json:"base_cents"`
	// Formula says in French how the line was computed.
	Formula     string `json:"formula"`
	AmountCents int64  `json:"amount_cents"`
}

// Result is an estimate. Label is always "Estimation indicative".
type Result struct {
	Label       string `json:"label"`
	Disclaimer  string `json:"disclaimer"`
	RatesYear   int    `json:"rates_year"`
	Status      Status `json:"status"`
	IncomeCents int64  `json:"income_cents"`
	Lines       []Line `json:"lines"`
	TotalCents  int64  `json:"total_cents"`
}

// Validate returns every problem of the input at once, as a catalog.FieldErrors (code request.form_invalid) with
// the fields "income_cents" and "status", or nil.
func (in Input) Validate() error {
	var problems catalog.FieldErrors
	switch {
	case in.IncomeCents < 0:
		problems = append(problems, failure.Field("income_cents", ErrIncomeNegative))
	case in.IncomeCents > MaxIncomeCents:
		problems = append(problems, failure.Field("income_cents", ErrIncomeTooHigh))
	}
	switch in.Status {
	case ChefExploitation, Collaborateur, CotisantSolidarite:
	case "":
		problems = append(problems, failure.Field("status", ErrStatusRequired))
	default:
		problems = append(problems, failure.Field("status", ErrStatusUnknown))
	}
	if len(problems) > 0 {
		return problems
	}
	return nil
}

// Estimate returns the itemised estimate for the input, or the input's problems (see Validate).
func Estimate(in Input) (Result, error) {
	if err := in.Validate(); err != nil {
		return Result{}, err
	}
	var lines []Line
	switch in.Status {
	case ChefExploitation:
		lines = chef(in.IncomeCents)
	case Collaborateur:
		lines = collaborateur()
	case CotisantSolidarite:
		lines = solidarite(in.IncomeCents)
	}
	r := Result{Label: Label, Disclaimer: Disclaimer, RatesYear: RatesYear, Status: in.Status,
		IncomeCents: in.IncomeCents, Lines: lines}
	for _, l := range lines {
		r.TotalCents += l.AmountCents
	}
	return r, nil
}

// The constants (see the package documentation for sources), in cents.
const (
	pass        int64 = 4_806_000 // PASS 48 060 €
	smicHoraire int64 = 1_202     // 12,02 €
)

// rate is a rate in hundred-thousandths: 11,55 % is 11_550.
type rate int64

const scale = 100_000

// The rates (see the package documentation for which are confirmed and which are [~]).
const (
	amexaStep1     rate = 4_000  // 4 % at 60 % PASS
	amexaFull      rate = 6_500  // 6,5 % from 110 % PASS
	invaliditeRate rate = 1_100  // 1,10 %
	aviRate        rate = 3_320  // 3,32 %
	avaPlafRate    rate = 11_550 // 11,55 %
	avaDeplafRate  rate = 2_240  // 2,24 %
	rcoRate        rate = 4_000  // 4,00 %
	pfFull         rate = 3_100  // 3,10 % from 140 % PASS
	csgCrdsRate    rate = 9_700  // 9,20 % + 0,50 %
	viveaRate      rate = 890    // 0,89 %
	solidariteRate rate = 16_000 // 16,00 %

	ijAmexaFlat        int64 = 25_000 // 250 €
	atexaChef          int64 = 47_000 // 470 €
	atexaCollaborateur int64 = 28_000 // 280 €
	atexaSolidarite    int64 = 6_000  // 60 €
	viveaMin           int64 = 8_000  // 80 €
	viveaMax           int64 = 50_000 // 500 €
)

// The bases, in cents.
var (
	pass40   = pass * 40 / 100   // 19 224 €
	pass60   = pass * 60 / 100   // 28 836 €
	pass110  = pass * 110 / 100  // 52 866 €
	pass140  = pass * 140 / 100  // 67 284 €
	pass115  = pass * 115 / 1000 // 11,5 % PASS: 5 526,90 €
	smic600  = 600 * smicHoraire
	smic800  = 800 * smicHoraire
	smic400  = 400 * smicHoraire
	smic1200 = 1200 * smicHoraire
	smic1820 = 1820 * smicHoraire
)

// roundDiv returns n/d rounded half up, for n ≥ 0 and d > 0.
func roundDiv(n, d int64) int64 { return (2*n + d) / (2 * d) }

// apply returns base × r, rounded to the cent.
func apply(base int64, r rate) int64 { return roundDiv(base*int64(r), scale) }

// progressive returns base × ρ(base) rounded to the cent, where ρ rises linearly from r0 at a to r1 at b; base must
// lie in [a, b]. As one fraction: base × (r0·(b−a) + (r1−r0)·(base−a)) / ((b−a)·scale).
func progressive(base, a, b int64, r0, r1 rate) int64 {
	num := base * (int64(r0)*(b-a) + int64(r1-r0)*(base-a))
	return roundDiv(num, (b-a)*scale)
}

func amexa(r int64) int64 {
	switch {
	case r <= pass40:
		return 0
	case r <= pass60:
		return progressive(r, pass40, pass60, 0, amexaStep1)
	case r <= pass110:
		return progressive(r, pass60, pass110, amexaStep1, amexaFull)
	}
	return apply(r, amexaFull)
}

func familyBenefits(r int64) int64 {
	switch {
	case r <= pass110:
		return 0
	case r <= pass140:
		return progressive(r, pass110, pass140, 0, pfFull)
	}
	return apply(r, pfFull)
}

func line(code, label string, base int64, formula string, amount int64) Line {
	return Line{Code: code, Label: label, BaseCents: base, Formula: formula, AmountCents: amount}
}

func chef(r int64) []Line {
	aviBase := max(min(r, pass), smic800)
	avaBase := max(min(r, pass), smic600)
	floor600 := max(r, smic600)
	inv := max(r, pass115)
	rco := max(r, smic1820)
	return []Line{
		line("amexa", "Assurance maladie, maternité (AMEXA)", r,
			"Taux progressif sur tout le revenu : 0 % jusqu'à 40 % du PASS, de 0 % à 4 % jusqu'à 60 % du PASS, de 4 % à 6,5 % jusqu'à 110 % du PASS, 6,5 % au-delà", amexa(r)),
		line("ij-amexa", "Indemnités journalières maladie (IJ AMEXA)", 0, "Forfait annuel", ijAmexaFlat),
		line("invalidite", "Invalidité", inv,
			"1,10 % du revenu, avec une assiette minimale de 11,5 % du PASS", apply(inv, invaliditeRate)),
		line("avi", "Retraite de base : assurance vieillesse individuelle (AVI)", aviBase,
			"3,32 % du revenu plafonné au PASS, avec une assiette minimale de 800 SMIC horaires", apply(aviBase, aviRate)),
		line("ava-plafonnee", "Retraite de base : assurance vieillesse agricole plafonnée (AVA)", avaBase,
			"11,55 % du revenu plafonné au PASS, avec une assiette minimale de 600 SMIC horaires", apply(avaBase, avaPlafRate)),
		line("ava-deplafonnee", "Retraite de base : assurance vieillesse agricole déplafonnée (AVA)", floor600,
			"2,24 % du revenu, avec une assiette minimale de 600 SMIC horaires", apply(floor600, avaDeplafRate)),
		line("rco", "Retraite complémentaire obligatoire (RCO)", rco,
			"4 % du revenu, avec une assiette minimale de 1 820 SMIC horaires", apply(rco, rcoRate)),
		line("prestations-familiales", "Prestations familiales", r,
			"Taux progressif : 0 % jusqu'à 110 % du PASS, puis jusqu'à 3,10 % à 140 % du PASS, 3,10 % au-delà", familyBenefits(r)),
		line("atexa", "Accidents du travail et maladies professionnelles (ATEXA)", 0,
			"Forfait annuel", atexaChef),
		line("csg-crds", "CSG et CRDS", r, "9,70 % du revenu (CSG 9,20 %, CRDS 0,50 %)", apply(r, csgCrdsRate)),
		line("formation", "Formation professionnelle (VIVEA)", r,
			"0,89 % du revenu, au moins 80 € et au plus 500 €", min(max(apply(r, viveaRate), viveaMin), viveaMax)),
	}
}

func collaborateur() []Line {
	return []Line{
		line("avi", "Retraite de base : assurance vieillesse individuelle (AVI)", smic400,
			"3,32 % d'une assiette forfaitaire de 400 SMIC horaires", apply(smic400, aviRate)),
		line("ava-plafonnee", "Retraite de base : assurance vieillesse agricole plafonnée (AVA)", smic400,
			"11,55 % d'une assiette forfaitaire de 400 SMIC horaires", apply(smic400, avaPlafRate)),
		line("rco", "Retraite complémentaire obligatoire (RCO)", smic1200,
			"4 % d'une assiette forfaitaire de 1 200 SMIC horaires", apply(smic1200, rcoRate)),
		line("atexa", "Accidents du travail et maladies professionnelles (ATEXA)", 0, "Forfait annuel", atexaCollaborateur),
		line("formation", "Formation professionnelle (VIVEA)", 0, "Forfait annuel minimal", viveaMin),
	}
}

func solidarite(r int64) []Line {
	return []Line{
		line("cotisation-solidarite", "Cotisation de solidarité", r, "16 % du revenu", apply(r, solidariteRate)),
		line("atexa", "Accidents du travail et maladies professionnelles (ATEXA)", 0, "Forfait annuel", atexaSolidarite),
		line("csg-crds", "CSG et CRDS", r, "9,70 % du revenu (CSG 9,20 %, CRDS 0,50 %)", apply(r, csgCrdsRate)),
	}
}
