// Package conversation is "Nous envoyer un message": a member writes to the fund on a theme, staff of the theme's
// queue claim the conversation, reply (the member sees the reply), add internal notes (staff only) and close it;
// the member may answer while it is open, which starts the wait for a reply again. Each wait has a reply due date:
// the theme's target counted in business hours of the help line (Due).
//
// Stream "conversation-<conversation id>", its subject the member (set at the start, inherited by every later
// event): subjects, bodies and notes are sealed under the member's key. State is the one fold.
//
// Themes (their queue and reply target) and the limits are versioned data (Catalog), like the service catalogue: a
// conversation records the version it was started under.
package conversation

import "slices"

// CatalogVersion is the version of the conversation data in force.
const CatalogVersion = "2026.1"

// Theme is what a member writes about; Queue is the catalogue queue whose staff answer it, TargetHours the reply
// target in business hours of the help line.
type Theme struct {
	Code        string `json:"code"`
	Label       string `json:"label"`
	Queue       string `json:"queue"`
	TargetHours int    `json:"target_hours"`
}

// Catalog is one version of the conversation data.
type Catalog struct {
	Version string  `json:"version"`
	Themes  []Theme `json:"themes"`
	// MaxSubjectChars and MaxBodyChars bound a subject and a message, counted in characters (runes).
	MaxSubjectChars int `json:"max_subject_chars"`
	MaxBodyChars    int `json:"max_body_chars"`
	// MaxAttachments bounds the files of one member's message, MaxAttachmentBytes each file (the deposits' 1 Mo:
	// 1,048,576 bytes); the file rules are the deposits' (PDF, JPEG or PNG, judged on the content).
	MaxAttachments     int   `json:"max_attachments"`
	MaxAttachmentBytes int64 `json:"max_attachment_bytes"`
}

// Theme returns the theme of code.
func (c Catalog) Theme(code string) (Theme, bool) {
	i := slices.IndexFunc(c.Themes, func(t Theme) bool { return t.Code == code })
	if i < 0 {
		return Theme{}, false
	}
	return c.Themes[i], true
}

var catalogs = map[string]Catalog{
	"2026.1": {
		Version: "2026.1", MaxSubjectChars: 120, MaxBodyChars: 5000, MaxAttachments: 5, MaxAttachmentBytes: 1 << 20,
		// Queues are those of the service catalogue 2026.1 (domain/catalog); TestThemesRouteToCatalogQueues checks.
		Themes: []Theme{
			{Code: "cotisations", Label: "Mes cotisations", Queue: "pro-cotisations", TargetHours: 16},
			{Code: "affiliation", Label: "Mon affiliation, ma situation professionnelle", Queue: "pro-affiliation", TargetHours: 16},
			{Code: "sante", Label: "Ma carte Vitale, ma complémentaire santé", Queue: "sante-cartes", TargetHours: 8},
			{Code: "famille", Label: "Mes prestations familiales, mon logement", Queue: "famille-prestations", TargetHours: 8},
			{Code: "rsa-ppa", Label: "RSA, prime d'activité", Queue: "rsa-ppa", TargetHours: 8},
			{Code: "retraite", Label: "Ma retraite", Queue: "retraite", TargetHours: 16},
			{Code: "action-sociale", Label: "Action sociale", Queue: "action-sociale", TargetHours: 16},
		},
	},
}

// Current returns the conversation data in force.
func Current() Catalog { return Load(CatalogVersion) }

// Load returns version (the zero Catalog when unknown).
func Load(version string) Catalog { return catalogs[version] }
