package staff

// What a member reads in their own access log ("qui a consulté mon dossier"): the service, never the person. The
// fund answers for its staff: the log tells the member when, in which capacity and for what their data was opened;
// the name of the agent is given, when there is cause, on a request handled by the data protection officer, who
// reads the staff id from the event. This follows what the Court of Justice held of the GDPR's right of access:
// the dates and purposes of the consultations are due, the identity of the employees who carried them out under the
// controller's authority is not, unless the member needs it to exercise their rights (CJEU, 22 June 2023, C-579/21,
// Pankki S). Showing names would also expose agents to pressure over their work.

// Views of a member's data recorded in MemberDataOpened.What.
const (
	// ViewMemberAccount is a staff read of the member's account: identity, contact details, status.
	ViewMemberAccount = "member.account"
	// ViewMemberProfile is an older name of the same view.
	ViewMemberProfile = "member.profile"
	// ViewMemberDirectory is a member shown in a directory search.
	ViewMemberDirectory = "member.directory"
	// ViewCaseFile is a staff read of one of the member's service requests (its form and timeline). Its label says
	// nothing of the request's queue: that a request is medical is itself covered by medical secrecy.
	ViewCaseFile = "case.file"
	// ViewCaseDocuments is a staff read of the list of documents a member deposited in a case file; ViewCaseDocument
	// the opening of one deposited file (subject: the deposit's reference).
	ViewCaseDocuments = "case.documents"
	ViewCaseDocument  = "case.document"
	// ViewConversation is a staff read of one of the member's conversations (subject: its id).
	ViewConversation = "conversation"
	// ViewAuditHistory is an auditor's read of the member's whole history, or of one case's (subject: the case id).
	ViewAuditHistory = "audit.history"
	// ViewAuditExport is an auditor's export of the member's history out of Dossier (`dossier audit export`: the
	// member's, one case's — subject: the case id — or a period of the whole log holding some of the member's events).
	ViewAuditExport = "audit.export"

	// ViewMemberAccountAsOf is an auditor's read of the member's account as it was at a past point of the log
	// (subject: the commit position shown).
	ViewMemberAccountAsOf = "member.account.as_of"

	// ViewConversationAttachment is a staff opening of a file attached to one of the member's messages (subject: the
	// conversation's id).
	ViewConversationAttachment = "conversation.attachment"
)

// accessPurposes are the French labels of the views, as the member reads them.
var accessPurposes = map[string]string{
	ViewMemberAccount:          "Consultation de votre compte (identité, coordonnées, situation du compte)",
	ViewMemberProfile:          "Consultation de votre compte (identité, coordonnées, situation du compte)",
	ViewMemberDirectory:        "Recherche de votre compte dans l'annuaire des adhérents",
	ViewCaseFile:               "Consultation d'une de vos demandes (formulaire et suivi)",
	ViewCaseDocuments:          "Consultation de la liste des documents que vous avez envoyés",
	ViewCaseDocument:           "Consultation d'un document que vous avez envoyé",
	ViewConversation:           "Lecture d'une de vos conversations avec la caisse",
	ViewConversationAttachment: "Ouverture d'une pièce jointe d'un de vos messages",
	ViewAuditHistory:           "Contrôle de l'historique de votre dossier (tous les événements enregistrés)",
	ViewAuditExport:            "Export de l'historique de votre dossier pour un contrôle (événements enregistrés)",
	ViewMemberAccountAsOf:      "Contrôle de votre compte tel qu'il était à une date passée (identité, coordonnées, situation du compte)",
}

// defaultAccessPurpose labels a view this version does not name yet (one added by a later route).
const defaultAccessPurpose = "Consultation de votre dossier par un agent de la caisse"

// AccessPurposeLabel returns the French label of a view (MemberDataOpened.What), with a general one for views it
// does not know.
func AccessPurposeLabel(what string) string {
	if l, ok := accessPurposes[what]; ok {
		return l
	}
	return defaultAccessPurpose
}

// AccessPurposeLabelOf returns the French label of an opening of view what about subject
// (MemberDataOpened.Subject): for a case file with its reference, "Consultation de votre demande MSA-2026-… (formulaire
// et suivi)", so the member knows which of their requests was read; otherwise AccessPurposeLabel(what).
func AccessPurposeLabelOf(what, subject string) string {
	if what == ViewCaseFile && subject != "" {
		return "Consultation de votre demande " + subject + " (formulaire et suivi)"
	}
	return AccessPurposeLabel(what)
}

// roleLabels are the French names of the working roles, as the member reads them: the service, not the person.
var roleLabels = map[string]string{
	RoleCaseworker: "Conseiller de la caisse",
	RoleSupervisor: "Responsable d'équipe de la caisse",
	RoleAuditor:    "Contrôle interne de la caisse",
	RoleAdmin:      "Administration de l'espace privé",
}

// AccessRoleLabel returns the French name of the role a staff member acted in (MemberDataOpened.Role).
func AccessRoleLabel(role string) string {
	if l, ok := roleLabels[role]; ok {
		return l
	}
	return "Agent de la caisse"
}
