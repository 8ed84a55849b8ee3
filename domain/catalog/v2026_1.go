package catalog

// Version2026_1 is the first published catalogue: the 22 services of the member guide "Mon espace privé" (seed),
// with their forms, queues and rules (CRPA L112-3, R112-5, L231-1 and L231-4 for acknowledgements and silence; the
// fund's published handling times where it publishes them; [~] where we interpret). It is the base every later version
// changes (see deltas); never edit it: its golden file (testdata/catalog-2026.1.json) pins it.
const Version2026_1 = "2026.1"

// The group codes of the services page.
const (
	GroupProAttestations       = "pro-attestations-exploitation"
	GroupProCotisations        = "pro-cotisations"
	GroupProFactures           = "pro-factures-reglement"
	GroupPersoSante            = "perso-sante-invalidite"
	GroupPersoFamille          = "perso-famille-logement"
	GroupPersoRSA              = "perso-rsa-prime-activite"
	GroupPersoRetraite         = "perso-retraite"
	GroupPersoPaiements        = "perso-paiements-attestations"
	spaceProLabel              = "Mes services pro"
	spacePersoLabel            = "Mes services perso"
	maxIncomeCents       int64 = 100_000_000 // 1 million euros: the sane upper bound of a declared income or resource
)

// The appeal routes (délais et voies de recours, R112-5) shared by several services.
const (
	appealCRA = "Recours amiable : vous pouvez contester la décision devant la commission de recours amiable (CRA) " +
		"de votre MSA dans un délai de 2 mois à compter de sa notification. Sans réponse de la commission dans les " +
		"2 mois, votre recours est réputé rejeté." // R142-1, R142-6 (2 months; sources conflict, [~] kept as data)
	appealCourt = "Recours contentieux : après la décision de la commission de recours amiable, ou son silence " +
		"pendant 2 mois, vous pouvez saisir le pôle social du tribunal judiciaire dans un délai de 2 mois."
	appealMedical = "Contestation d'ordre médical : vous pouvez contester l'appréciation du médecin conseil devant " +
		"la commission médicale de recours amiable (CMRA) dans un délai de 2 mois à compter de la notification." // [~]
	appealRSA = "RSA : le droit est décidé par le conseil départemental ; un recours administratif préalable est " +
		"adressé au président du conseil départemental dans un délai de 2 mois, avant tout recours devant le " +
		"tribunal administratif." // [~] CASF L262-47, our reading
)

func i64(v int64) *int64 { return &v }

func opt(code, label string) Option { return Option{Code: code, Label: label} }

func text(name, label string, required bool, maxLen int) Field {
	return Field{Name: name, Label: label, Type: FieldText, Required: required, MaxLength: maxLen}
}

func date(name, label string, required bool) Field {
	return Field{Name: name, Label: label, Type: FieldDate, Required: required}
}

func amount(name, label string, required bool) Field {
	return Field{Name: name, Label: label, Type: FieldAmount, Required: required, Min: i64(0), Max: i64(maxIncomeCents),
		Hint: "Montant en centimes d'euro."}
}

func integer(name, label string, required bool, lo, hi int64) Field {
	return Field{Name: name, Label: label, Type: FieldInteger, Required: required, Min: i64(lo), Max: i64(hi)}
}

func choice(name, label string, required bool, options ...Option) Field {
	return Field{Name: name, Label: label, Type: FieldChoice, Required: required, Options: options}
}

func boolean(name, label string, required bool) Field {
	return Field{Name: name, Label: label, Type: FieldBoolean, Required: required}
}

// sworn is the sworn statement every request form ends with.
func sworn() Field {
	return Field{Name: "sworn_statement", Label: "Je certifie sur l'honneur l'exactitude des informations déclarées.",
		Type: FieldBoolean, Required: true, MustBeTrue: true}
}

func siret(required bool) Field {
	return Field{Name: "siret", Label: "Numéro SIRET de l'exploitation ou de l'entreprise", Type: FieldText,
		Required: required, Pattern: `[0-9]{14}`, MaxLength: 14, Hint: "14 chiffres, sans espace."}
}

func iban(required bool) Field {
	return Field{Name: "iban", Label: "IBAN du compte de versement", Type: FieldText, Required: required,
		Pattern: `[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}`, MaxLength: 34, Hint: "En majuscules, sans espace (FR76…)."}
}

func doc(code, label string, required bool) SupportingDocument {
	return SupportingDocument{Code: code, Label: label, Required: required}
}

func medicalDoc(code, label string) SupportingDocument {
	return SupportingDocument{Code: code, Label: label, Required: true, Medical: true}
}

// acceptance is silence = acceptance after months (CRPA L231-1, or a decree naming the procedure).
func acceptance(months int, basis string, uncertain bool) SilenceRule {
	return SilenceRule{Outcome: SilenceAcceptance, AfterMonths: months, Basis: basis, Uncertain: uncertain,
		Notice: "Sans réponse de notre part dans un délai de " + monthsFR(months) + " à compter de la réception de " +
			"votre dossier complet, votre demande sera réputée acceptée. Vous pourrez alors demander une attestation " +
			"de cette décision implicite (article L232-3 du code des relations entre le public et l'administration)."}
}

// rejection is silence = rejection after months (CRPA L231-4: financial character, no procedure set by a text).
func rejection(months int, basis string, uncertain bool) SilenceRule {
	return SilenceRule{Outcome: SilenceRejection, AfterMonths: months, Basis: basis, Uncertain: uncertain,
		Notice: "Sans réponse de notre part dans un délai de " + monthsFR(months) + " à compter de la réception de " +
			"votre dossier complet, votre demande sera réputée rejetée. Vous pourrez contester ce rejet implicite " +
			"selon les voies de recours indiquées ci-dessous."}
}

// none is a request on which no implicit decision arises.
func none(basis string, uncertain bool) SilenceRule {
	return SilenceRule{Outcome: SilenceNone, Basis: basis, Uncertain: uncertain,
		Notice: "Cette démarche n'appelle pas de décision implicite : nous traitons votre demande dans les meilleurs délais."}
}

func monthsFR(n int) string {
	switch n {
	case 1:
		return "1 mois"
	case 2:
		return "2 mois"
	case 3:
		return "3 mois"
	case 4:
		return "4 mois"
	case 6:
		return "6 mois"
	}
	panic("catalog: months not spelled")
}

const (
	basisDefaultAcceptance = "CRPA L231-1 (le silence gardé pendant 2 mois vaut acceptation)"
	basisFinancial         = "CRPA L231-4 1° (demande à caractère financier : le silence gardé pendant 2 mois vaut rejet)"
	basisOutsideProcedure  = "CRPA L231-4 (demande ne s'inscrivant pas dans une procédure prévue par un texte : le silence vaut rejet)"
)

// v2026_1 returns the data of the base version, fresh at each call.
func v2026_1() content {
	groups := []Group{
		{GroupProAttestations, "Attestations / Exploitation", SpacePro, spaceProLabel},
		{GroupProCotisations, "Cotisations", SpacePro, spaceProLabel},
		{GroupProFactures, "Factures et règlement", SpacePro, spaceProLabel},
		{GroupPersoSante, "Santé / invalidité", SpacePerso, spacePersoLabel},
		{GroupPersoFamille, "Famille / logement", SpacePerso, spacePersoLabel},
		{GroupPersoRSA, "RSA / Prime d'activité", SpacePerso, spacePersoLabel},
		{GroupPersoRetraite, "Retraite", SpacePerso, spacePersoLabel},
		{GroupPersoPaiements, "Paiements et attestations", SpacePerso, spacePersoLabel},
	}
	queues := []Queue{
		{Code: "pro-attestations", Label: "Attestations professionnelles"},
		{Code: "pro-affiliation", Label: "Affiliation et situation professionnelle"},
		{Code: "pro-atexa", Label: "Accidents du travail des non-salariés (ATEXA)"},
		{Code: "pro-cotisations", Label: "Cotisations : échéanciers et modulations"},
		{Code: "pro-televersement", Label: "Comptes de téléversement et tiers déclarants"},
		{Code: "sante-cartes", Label: "Cartes d'assurance maladie (Vitale, CEAM)"},
		{Code: "sante-c2s", Label: "Complémentaire santé solidaire"},
		{Code: "sante-invalidite", Label: "Pensions d'invalidité (service médical)", Confidential: true},
		{Code: "famille-situation", Label: "Changements de situation et ressources"},
		{Code: "famille-prestations", Label: "Prestations familiales"},
		{Code: "famille-logement", Label: "Aides au logement"},
		{Code: "rsa-ppa", Label: "RSA et prime d'activité"},
		{Code: "retraite", Label: "Demandes de retraite"},
		{Code: "action-sociale", Label: "Action sociale retraités"},
	}
	year := integer("year", "Année concernée", true, 2000, 2100)
	situation := choice("household_situation", "Situation familiale", true,
		opt("single", "Personne seule"), opt("couple", "En couple (mariage, PACS ou concubinage)"))
	dependants := integer("dependent_children", "Nombre d'enfants à charge", true, 0, 20)
	services := []Service{
		// ---- Mes services pro / Attestations / Exploitation
		{
			Code: "attestations-pro", Label: "Demander mes attestations professionnelles", Group: GroupProAttestations,
			Kind:        KindRequest,
			Description: "Attestation d'affiliation ou de régularité de cotisations, délivrée dès que les conditions sont remplies.",
			Fields: []Field{
				choice("attestation_type", "Type d'attestation", true,
					opt("affiliation-nsa", "Attestation d'affiliation au régime des non-salariés agricoles"),
					opt("contributions-up-to-date", "Attestation de régularité (à jour de cotisations)"),
					opt("other", "Autre attestation")),
				year,
				integer("copies", "Nombre d'exemplaires", true, 1, 5),
				text("details", "Précisions (pour une autre attestation)", false, 500),
			},
			Queue: "pro-attestations", TargetHandlingDays: 5,
			// A document delivered by right: no acknowledgement needed and no implicit decision (R112-4 2°) [~].
			Silence:      none("CRPA R112-4 2° (document délivré de droit)", true),
			AppealRoutes: []string{appealCRA, appealCourt},
		},
		{
			Code: "changement-situation-pro", Label: "Demander un changement de situation professionnelle",
			Group: GroupProAttestations, Kind: KindRequest,
			Description: "Installation, cessation, changement de statut ou de forme d'activité ; décision d'affiliation et recalcul de l'assiette des cotisations.",
			Fields: []Field{
				choice("change_type", "Nature du changement", true,
					opt("installation", "Installation"), opt("cessation", "Cessation d'activité"),
					opt("statute", "Changement de statut"), opt("activity", "Nouvelle activité ou forme d'entreprise")),
				date("effective_date", "Date d'effet", true),
				choice("new_statute", "Nouveau statut", false,
					opt("chef-exploitation", "Chef d'exploitation ou d'entreprise agricole"),
					opt("collaborateur", "Collaborateur d'exploitation"),
					opt("aide-familial", "Aide familial"),
					opt("cotisant-solidarite", "Cotisant de solidarité")),
				siret(false),
				integer("land_area_ares", "Surface exploitée (en ares)", false, 0, 10_000_000),
				integer("annual_work_hours", "Temps de travail annuel (en heures)", false, 0, 8_760),
				text("activity_description", "Description de l'activité", false, 1000),
				sworn(),
			},
			Queue: "pro-affiliation", TargetHandlingDays: 30,
			// Several NSA affiliation requests are silence = acceptance by the decree of 5 Jan 2016 (DREETS
			// Normandie, "Le principe silence vaut acceptation"); which ones exactly is not in a public source we
			// could cite [~].
			Silence:      acceptance(2, basisDefaultAcceptance+" ; décret du 5 janvier 2016 (affiliation NSA)", true),
			AppealRoutes: []string{appealCRA, appealCourt},
			Documents: []SupportingDocument{
				doc("kbis-or-insee", "Extrait Kbis ou avis de situation INSEE", false),
				doc("land-titles", "Relevé parcellaire, bail ou titre de propriété des terres", false),
				doc("cessation-proof", "Justificatif de cessation (radiation, acte de cession des terres)", false),
			},
		},
		{
			Code: "accident-travail-non-salarie", Label: "Déclarer un accident du travail ou de trajet non salarié",
			Group: GroupProAttestations, Kind: KindRequest,
			Description: "Déclaration dans les 8 jours ; au-delà, une pénalité de 4 jours s'applique aux indemnités journalières ATEXA. Les lésions sont décrites au service médical seulement.",
			Fields: []Field{
				choice("victim", "Victime", true, opt("self", "Moi-même"),
					opt("household-member", "Un membre de la famille travaillant sur l'exploitation")),
				date("accident_date", "Date de l'accident", true),
				text("accident_time", "Heure de l'accident", true, 5),
				text("place", "Lieu de l'accident", true, 200),
				choice("accident_kind", "Type d'accident", true, opt("work", "Accident du travail"),
					opt("commute", "Accident de trajet")),
				text("circumstances", "Circonstances de l'accident", true, 2000),
				text("witnesses", "Témoins (nom et coordonnées)", false, 500),
				boolean("work_stopped", "Avez-vous arrêté le travail ?", true),
				date("initial_certificate_date", "Date du certificat médical initial", false),
				sworn(),
			},
			Queue: "pro-atexa", TargetHandlingDays: 30,
			// The notes give no ATEXA-specific delay; default L231-1 kept as data [~]: the general scheme's
			// implicit recognition of the professional character is the nearest analogue.
			Silence:      acceptance(2, basisDefaultAcceptance+" (reconnaissance du caractère professionnel)", true),
			AppealRoutes: []string{appealCRA, appealMedical, appealCourt},
			Documents: []SupportingDocument{
				medicalDoc("initial-medical-certificate", "Certificat médical initial (à envoyer par courrier au service médical de votre MSA)"),
			},
		},
		{
			Code: "decomptes-indemnites-journalieres", Label: "Consulter mes décomptes d'indemnités journalières",
			Group: GroupProAttestations, Kind: KindConsultation,
			Description: "Période, nombre de jours, montant journalier, brut, net, CSG-CRDS et date de paiement de vos indemnités journalières.",
		},
		// ---- Mes services pro / Cotisations
		{
			Code: "modulation-appels-cotisations", Label: "Demander la modulation de mes appels fractionnés ou mensuels",
			Group: GroupProCotisations, Kind: KindRequest,
			Description: "Équivalent du Cerfa 15243*01 : vos échéances sont recalculées sur votre revenu estimé, puis régularisées en fin d'année. L'option mensuelle se choisit avant le 15 pour le mois suivant.",
			Fields: []Field{
				year,
				choice("current_mode", "Mode de paiement actuel", true, opt("split", "Appels fractionnés"),
					opt("monthly", "Prélèvements mensuels")),
				amount("estimated_income", "Revenu professionnel estimé pour l'année", true),
				amount("requested_basis", "Assiette de cotisations demandée", false),
				text("reason", "Motif de la demande", false, 1000),
				sworn(),
			},
			Queue: "pro-cotisations", TargetHandlingDays: 20,
			Silence:      rejection(2, basisFinancial, false),
			AppealRoutes: []string{appealCRA, appealCourt},
		},
		{
			Code: "estimation-cotisations-nsa", Label: "Estimer mes cotisations Non Salariés Agricoles",
			Group: GroupProCotisations, Kind: KindSimulation,
			Description: "Estimation indicative de vos cotisations à partir de votre revenu professionnel et de votre statut. Rien n'est enregistré.",
		},
		// ---- Mes services pro / Factures et règlement
		{
			Code: "reglement-factures", Label: "Régler mes factures", Group: GroupProFactures, Kind: KindConsultation,
			Description: "Vos factures et leur règlement en ligne (carte ou prélèvement SEPA) ; un paiement n'est jamais enregistré deux fois.",
		},
		{
			// [~] our interpretation: delegated accounts (tiers déclarants) allowed to deposit files.
			Code: "comptes-televersement", Label: "Gérer mes comptes de téléversement", Group: GroupProFactures,
			Kind:        KindRequest,
			Description: "Autoriser un tiers déclarant à déposer des fichiers déclaratifs pour votre exploitation ou votre entreprise, ou retirer cette autorisation.",
			Fields: []Field{
				choice("action", "Opération", true, opt("grant", "Autoriser un tiers déclarant"),
					opt("revoke", "Retirer une autorisation")),
				text("delegate_name", "Nom ou raison sociale du tiers déclarant", true, 200),
				Field{Name: "delegate_siret", Label: "SIRET du tiers déclarant", Type: FieldText, Required: true,
					Pattern: `[0-9]{14}`, MaxLength: 14, Hint: "14 chiffres, sans espace."},
				choice("scope", "Fichiers concernés", true, opt("payroll", "Déclarations sociales (DSN)"),
					opt("contributions", "Déclarations de revenus professionnels"), opt("all", "Tous les fichiers")),
				date("valid_from", "Date de début", true),
				date("valid_to", "Date de fin", false),
			},
			Queue: "pro-televersement", TargetHandlingDays: 10,
			Silence:      acceptance(2, basisDefaultAcceptance, true),
			AppealRoutes: []string{appealCRA, appealCourt},
			Documents:    []SupportingDocument{doc("mandate", "Mandat signé confiant la déclaration au tiers", true)},
		},
		// ---- Mes services perso / Santé, invalidité
		{
			Code: "carte-assurance-maladie", Label: "Demander ma carte d'assurance maladie (carte Vitale ou CEAM)",
			Group: GroupPersoSante, Kind: KindRequest,
			Description: "Carte Vitale (première carte, perte, vol, carte abîmée) ou carte européenne d'assurance maladie : à demander au moins 15 jours avant le départ, sinon un certificat provisoire valable 3 mois est délivré.",
			Fields: []Field{
				choice("card", "Carte demandée", true, opt("vitale", "Carte Vitale"),
					opt("ceam", "Carte européenne d'assurance maladie (CEAM)")),
				text("beneficiary", "Bénéficiaire (nom et prénom)", true, 200),
				choice("reason", "Motif (carte Vitale)", false, opt("first", "Première carte"), opt("lost", "Perte"),
					opt("stolen", "Vol"), opt("damaged", "Carte abîmée")),
				date("departure_date", "Date de départ (CEAM)", false),
				text("destination", "Pays de destination (CEAM)", false, 100),
				integer("stay_days", "Durée du séjour en jours (CEAM)", false, 1, 3650),
			},
			Queue: "sante-cartes", TargetHandlingDays: 15,
			Silence:      acceptance(2, basisDefaultAcceptance, true),
			AppealRoutes: []string{appealCRA, appealCourt},
			Documents: []SupportingDocument{
				doc("id-photo", "Photo d'identité récente (carte Vitale)", false),
				doc("id-document", "Copie d'une pièce d'identité", false),
				doc("loss-declaration", "Déclaration de perte ou de vol", false),
			},
		},
		{
			Code: "complementaire-sante-solidaire", Label: "Demander la complémentaire santé solidaire",
			Group: GroupPersoSante, Kind: KindRequest,
			Description: "Un dossier par foyer, sur les ressources des 12 derniers mois ; droit ouvert pour 1 an, gratuit ou avec participation.",
			Fields: []Field{
				situation,
				integer("household_size", "Nombre de personnes du foyer", true, 1, 20),
				amount("resources_12_months", "Ressources du foyer des 12 derniers mois", true),
				choice("housing", "Logement", true, opt("tenant", "Locataire"), opt("owner", "Propriétaire"),
					opt("housed-free", "Hébergé gratuitement"), opt("other", "Autre")),
				choice("managing_body", "Organisme gestionnaire choisi", true, opt("msa", "La MSA"),
					opt("insurer", "Un organisme complémentaire")),
				boolean("payment_mandate", "J'accepte le prélèvement de la participation éventuelle", false),
				sworn(),
			},
			Queue: "sante-c2s", TargetHandlingDays: 30,
			Silence:      acceptance(2, "CSS (C2S) : le silence gardé pendant 2 mois après le dossier complet vaut acceptation", false),
			AppealRoutes: []string{appealCRA, appealCourt},
			Documents: []SupportingDocument{
				doc("resources-proof", "Justificatifs de ressources des 12 derniers mois", true),
				doc("identity-household", "Pièce d'identité des membres du foyer", false),
			},
		},
		{
			Code: "pension-invalidite", Label: "Demander une pension d'invalidité", Group: GroupPersoSante,
			Kind:        KindRequest,
			Description: "Réduction d'au moins 2/3 de la capacité de travail ou inaptitude totale, appréciée par le médecin conseil ; avant l'âge légal de retraite et après 12 mois d'affiliation. La pension est toujours temporaire.",
			Fields: []Field{
				choice("status", "Votre statut", true,
					opt("nsa", "Non-salarié agricole"), opt("salarie", "Salarié agricole")),
				choice("requested_category", "Invalidité demandée", true,
					opt("partial", "Partielle (au moins 2/3) / catégorie 1"),
					opt("total", "Totale / catégorie 2"),
					opt("third-party", "Avec besoin d'une tierce personne / catégorie 3")),
				date("sick_leave_or_stabilisation_date", "Date de l'arrêt de travail ou de la consolidation", true),
				text("attending_doctor", "Médecin traitant (nom et commune)", true, 200),
				boolean("still_working", "Exercez-vous encore une activité ?", true),
				amount("activity_income", "Revenus d'activité des 12 derniers mois", false),
				sworn(),
			},
			Queue: "sante-invalidite", TargetHandlingDays: 60,
			Silence:      rejection(2, basisFinancial, true),
			AppealRoutes: []string{appealMedical, appealCRA, appealCourt},
			Documents: []SupportingDocument{
				medicalDoc("medical-report", "Certificat ou rapport médical (à envoyer par courrier au service médical de votre MSA)"),
				doc("income-proof", "Justificatifs de revenus d'activité", false),
			},
		},
		{
			// [~] content not verified against a public source.
			Code: "memo-sante-enfant", Label: "Consulter le « Mémo Santé Enfant »", Group: GroupPersoSante,
			Kind:        KindConsultation,
			Description: "Examens de santé obligatoires et calendrier des vaccinations de chacun de vos enfants, selon son âge.",
		},
		// ---- Mes services perso / Famille / logement
		{
			Code: "changement-situation", Label: "Déclarer un changement de situation", Group: GroupPersoFamille,
			Kind:        KindRequest,
			Description: "Naissance, union, séparation, décès, déménagement… : vos droits aux prestations familiales, au logement, au RSA, à la prime d'activité et à la complémentaire santé solidaire sont réexaminés.",
			Fields: []Field{
				choice("event_type", "Événement", true,
					opt("birth-adoption", "Naissance ou adoption"),
					opt("union", "Mariage, PACS ou vie en couple"), opt("separation", "Séparation"),
					opt("death", "Décès"), opt("move", "Déménagement"),
					opt("child-leaving", "Départ d'un enfant du foyer"),
					opt("activity-start", "Début d'activité"), opt("activity-end", "Fin d'activité"),
					opt("other", "Autre changement")),
				date("effective_date", "Date de l'événement", true),
				text("persons_concerned", "Personnes concernées", true, 500),
				text("details", "Précisions", false, 1000),
				sworn(),
			},
			Queue: "famille-situation", TargetHandlingDays: 15,
			// A declaration, not a request for a decision: the decisions come from the recalculations it triggers [~].
			Silence:      none("Déclaration : elle n'appelle pas de décision par elle-même", true),
			AppealRoutes: []string{appealCRA, appealCourt},
			Documents:    []SupportingDocument{doc("event-proof", "Justificatif de l'événement (acte, attestation, bail…)", false)},
		},
		{
			Code: "declaration-ressources", Label: "Déclarer mes ressources", Group: GroupPersoFamille,
			Kind:        KindRequest,
			Description: "Ressources de votre foyer pour le calcul de vos prestations.",
			Fields: []Field{
				year,
				boolean("no_resources", "Mon foyer n'a perçu aucune ressource", false),
				amount("activity_income", "Revenus d'activité", false),
				amount("replacement_income", "Revenus de remplacement (chômage, indemnités journalières)", false),
				amount("pensions", "Pensions et retraites", false),
				amount("maintenance_received", "Pensions alimentaires reçues", false),
				amount("assets_income", "Revenus du patrimoine", false),
				sworn(),
			},
			Queue: "famille-situation", TargetHandlingDays: 15,
			Silence:      none("Déclaration : elle n'appelle pas de décision par elle-même", true),
			AppealRoutes: []string{appealCRA, appealCourt},
		},
		{
			Code: "prestations-familiales", Label: "Demander mes prestations familiales", Group: GroupPersoFamille,
			Kind:        KindRequest,
			Description: "Allocations familiales, prestation d'accueil du jeune enfant, complément familial, allocation de rentrée scolaire, complément de libre choix du mode de garde…",
			Fields: []Field{
				choice("benefit", "Prestation demandée", true,
					opt("allocations-familiales", "Allocations familiales"),
					opt("paje-naissance", "Prime à la naissance (PAJE)"),
					opt("paje-base", "Allocation de base (PAJE)"),
					opt("complement-familial", "Complément familial"),
					opt("ars", "Allocation de rentrée scolaire"),
					opt("cmg", "Complément de libre choix du mode de garde")),
				situation,
				dependants,
				date("youngest_child_birth_date", "Date de naissance du plus jeune enfant (ou date prévue)", false),
				amount("household_resources", "Ressources annuelles du foyer", true),
				iban(true),
				sworn(),
			},
			Queue: "famille-prestations", TargetHandlingDays: 30,
			Silence:      rejection(2, basisFinancial, false),
			AppealRoutes: []string{appealCRA, appealCourt},
			Documents: []SupportingDocument{
				doc("birth-certificate", "Acte de naissance ou livret de famille", false),
				doc("schooling-certificate", "Certificat de scolarité (enfant de plus de 16 ans)", false),
				doc("rib", "Relevé d'identité bancaire", true),
			},
		},
		{
			Code: "aide-logement", Label: "Demander une aide au logement", Group: GroupPersoFamille, Kind: KindRequest,
			Description: "APL, ALF ou ALS selon votre situation ; l'attestation de loyer du bailleur est souvent demandée en complément.",
			Fields: []Field{
				text("address", "Adresse du logement", true, 300),
				choice("tenure", "Vous êtes", true, opt("tenant", "Locataire"),
					opt("hostel", "Résident d'un foyer"), opt("buyer", "Accédant à la propriété")),
				text("landlord_name", "Nom du bailleur ou de l'organisme prêteur", true, 200),
				Field{Name: "landlord_siret", Label: "SIRET du bailleur (s'il s'agit d'une entreprise)", Type: FieldText,
					Pattern: `[0-9]{14}`, MaxLength: 14, Hint: "14 chiffres, sans espace."},
				amount("monthly_rent", "Loyer mensuel hors charges (ou mensualité)", true),
				amount("monthly_charges", "Charges mensuelles", false),
				integer("surface_m2", "Surface habitable (m²)", true, 1, 1000),
				date("move_in_date", "Date d'entrée dans le logement", true),
				boolean("flat_share", "Colocation", true),
				integer("household_size", "Nombre de personnes vivant dans le logement", true, 1, 20),
				amount("resources_12_months", "Ressources du foyer des 12 derniers mois", true),
				boolean("pay_to_landlord", "Verser l'aide directement au bailleur", false),
				sworn(),
			},
			Queue: "famille-logement", TargetHandlingDays: 30,
			Silence:      rejection(2, basisFinancial, false),
			AppealRoutes: []string{appealCRA, appealCourt},
			Documents: []SupportingDocument{
				doc("rent-certificate", "Attestation de loyer remplie par le bailleur", true),
				doc("lease", "Bail ou contrat de location", false),
			},
		},
		// ---- Mes services perso / RSA, Prime d'activité
		{
			Code: "rsa-prime-activite", Label: "Demander le RSA ou la prime d'activité", Group: GroupPersoRSA,
			Kind:        KindRequest,
			Description: "La MSA instruit la demande ; la prime d'activité est décidée par la MSA, le RSA par le département. Versement mensuel à terme échu.",
			Fields: []Field{
				choice("benefit", "Prestation demandée", true, opt("rsa", "Revenu de solidarité active (RSA)"),
					opt("ppa", "Prime d'activité")),
				situation,
				dependants,
				boolean("resident_in_france", "Je réside en France de manière stable et effective", true),
				amount("resources_month_1", "Ressources du foyer, mois 1 (le plus ancien des 3 derniers mois)", true),
				amount("resources_month_2", "Ressources du foyer, mois 2", true),
				amount("resources_month_3", "Ressources du foyer, mois 3 (le plus récent)", true),
				choice("activity_status", "Situation professionnelle", true, opt("employed", "Salarié"),
					opt("self-employed", "Non salarié"), opt("job-seeker", "Demandeur d'emploi"),
					opt("inactive", "Sans activité")),
				boolean("orientation_consent", "RSA : j'accepte d'être accompagné dans mon parcours d'insertion", false),
				iban(true),
				sworn(),
			},
			Queue: "rsa-ppa", TargetHandlingDays: 30,
			Silence:      rejection(2, basisFinancial+" [RSA : décision du département]", true),
			AppealRoutes: []string{appealCRA, appealRSA, appealCourt},
			Documents:    []SupportingDocument{doc("resources-proof", "Justificatifs de ressources des 3 derniers mois", false)},
		},
		{
			Code: "ressources-trimestrielles", Label: "Déclarer mes ressources trimestrielles", Group: GroupPersoRSA,
			Kind:        KindRequest,
			Description: "Déclaration trimestrielle (DTR), préremplie depuis 2025 avec les salaires (DSN) et les allocations de France Travail. En retard, le RSA continue puis est régularisé ; la prime d'activité attend la déclaration.",
			Fields: []Field{
				year,
				integer("quarter", "Trimestre", true, 1, 4),
				amount("month_1_income", "Ressources du 1er mois", true),
				amount("month_2_income", "Ressources du 2e mois", true),
				amount("month_3_income", "Ressources du 3e mois", true),
				amount("other_resources", "Autres ressources du trimestre", false),
				boolean("situation_changed", "Ma situation a changé au cours du trimestre", true),
				sworn(),
			},
			Queue: "rsa-ppa", TargetHandlingDays: 10,
			Silence:      none("Déclaration : elle n'appelle pas de décision par elle-même", true),
			AppealRoutes: []string{appealCRA, appealRSA, appealCourt},
		},
		// ---- Mes services perso / Retraite
		{
			Code: "information-retraite", Label: "S'informer sur ma retraite", Group: GroupPersoRetraite,
			Kind:        KindInformation,
			Description: "Relevé de carrière, estimation globale dès 55 ans, simulateur ; demander un entretien information retraite ou une correction de carrière.",
		},
		{
			Code: "demande-retraite", Label: "Demander et suivre ma retraite", Group: GroupPersoRetraite,
			Kind:        KindRequest,
			Description: "Une seule demande pour tous vos régimes, 4 à 6 mois avant la date de départ choisie ; suivez chaque étape jusqu'au premier paiement.",
			Fields: []Field{
				date("desired_start_date", "Date de départ souhaitée (le 1er d'un mois)", true),
				integer("children_raised", "Nombre d'enfants élevés", true, 0, 30),
				choice("marital_status", "Situation familiale", true, opt("single", "Célibataire"),
					opt("married", "Marié(e) ou pacsé(e)"), opt("divorced", "Divorcé(e)"), opt("widowed", "Veuf ou veuve")),
				boolean("long_career", "Je demande un départ anticipé pour carrière longue", true),
				boolean("farm_ceased", "Non-salarié agricole : j'ai cessé ou je cesserai mon activité à cette date", false),
				iban(true),
				sworn(),
			},
			Queue: "retraite", TargetHandlingDays: 55,
			Silence:      rejection(2, basisFinancial, true),
			AppealRoutes: []string{appealCRA, appealCourt},
			Documents: []SupportingDocument{
				doc("id-document", "Copie d'une pièce d'identité", true),
				doc("cessation-proof", "Justificatif de cessation d'activité agricole (radiation, acte de transfert des terres)", false),
				doc("long-career-attestation", "Attestation de carrière longue", false),
				doc("rib", "Relevé d'identité bancaire", true),
			},
		},
		{
			Code: "bien-vivre-retraite", Label: "Bien vivre ma retraite", Group: GroupPersoRetraite, Kind: KindRequest,
			Description: "Aide à domicile, ateliers de prévention, logement, isolement : un travailleur social de la MSA vous recontacte.",
			Fields: []Field{
				choice("need", "Votre besoin", true, opt("home-help", "Aide à domicile"),
					opt("prevention-workshop", "Atelier de prévention"), opt("housing", "Logement adapté"),
					opt("isolation", "Rompre l'isolement")),
				boolean("lives_alone", "Je vis seul(e)", true),
				text("situation", "Décrivez votre situation", true, 2000),
				boolean("callback_consent", "J'accepte d'être recontacté(e) par un travailleur social", true),
			},
			Queue: "action-sociale", TargetHandlingDays: 30,
			// Action sociale is extra-legal (no procedure set by a text) and financial: silence = rejection [~].
			Silence:      rejection(2, basisOutsideProcedure, true),
			AppealRoutes: []string{appealCRA},
		},
		// ---- Mes services perso / Paiements et attestations
		{
			Code: "paiements-attestations", Label: "Suivre mes paiements et demander mes attestations",
			Group: GroupPersoPaiements, Kind: KindConsultation,
			Description: "Vos paiements (date, prestation, période, montant, statut) et, à la demande, une attestation de paiement établie à une date donnée.",
		},
	}
	return content{groups: groups, queues: queues, services: services}
}
