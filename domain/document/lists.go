// Package document is the member's deposit of documents ("Envoyer un document"): the versioned lists a deposit is
// checked against (its subjects and the documents' natures), the events of a member's deposits and their fold.
//
// A deposit lives on the member's stream "documentsubmissions-<member id>" (the member is the data subject, so the
// personal parts — who the documents are about, the reasons, the file names — are sealed with the member's key, and
// so are the files in the blob store). The events carry the files' hashes, sizes and types, never their bytes.
package document

import "fmt"

// The file types the fund accepts, named by their media type (found from the content, never from the upload's
// name or declared type).
const (
	TypePDF  = "application/pdf"
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
)

// MB is the unit of the size limits: "1 Mo" in the member's pages is 1 MiB, 1,048,576 bytes (the size a file
// manager shows as "1 Mo" or less is accepted).
const MB = 1 << 20

// The subjects of a deposit.
const (
	SubjectInformationAnswer   = "information_answer"   // answer to an information request of one of my requests
	SubjectSupportingDocuments = "supporting_documents" // supporting documents for one of my requests
	SubjectOther               = "other"                // "d'autres documents": to the intake queue
)

// Subject is one entry of the subjects list.
type Subject struct {
	Code         string `json:"code"`
	Label        string `json:"label"`
	NeedsRequest bool   `json:"needs_request"`
}

// Nature is one entry of the natures list. Medical natures are never accepted online: medical secrecy sends them by
// post to the medical service. MaxFileBytes is the limit of each file of a document of this nature.
type Nature struct {
	Code         string `json:"code"`
	Label        string `json:"label"`
	Medical      bool   `json:"medical"`
	MaxFileBytes int64  `json:"max_file_bytes"`
}

// Lists is one published version of the subjects and natures (kept as data beside the catalog: a deposit records
// the version it was checked against).
type Lists struct {
	Version  string    `json:"version"`
	Subjects []Subject `json:"subjects"`
	Natures  []Nature  `json:"natures"`
}

// CurrentVersion is the version new deposits are checked against.
const CurrentVersion = "2026.1"

var versions = map[string]Lists{
	"2026.1": {
		Version: "2026.1",
		Subjects: []Subject{
			{Code: SubjectInformationAnswer, Label: "Réponse à une demande d'information sur l'une de mes demandes", NeedsRequest: true},
			{Code: SubjectSupportingDocuments, Label: "Pièces justificatives pour l'une de mes demandes", NeedsRequest: true},
			{Code: SubjectOther, Label: "D'autres documents"},
		},
		Natures: []Nature{
			{Code: "identity_document", Label: "Pièce d'identité", MaxFileBytes: MB},
			{Code: "proof_of_address", Label: "Justificatif de domicile", MaxFileBytes: MB},
			{Code: "tax_notice", Label: "Avis d'imposition", MaxFileBytes: MB},
			{Code: "bank_details", Label: "Relevé d'identité bancaire (RIB)", MaxFileBytes: MB},
			{Code: "employer_certificate", Label: "Attestation employeur", MaxFileBytes: MB},
			{Code: "school_certificate", Label: "Certificat de scolarité", MaxFileBytes: MB},
			{Code: "family_record_book", Label: "Livret de famille", MaxFileBytes: MB},
			{Code: "other", Label: "Autre document", MaxFileBytes: MB},
			{Code: "medical_certificate", Label: "Certificat médical", Medical: true},
			{Code: "sick_leave_notice", Label: "Avis d'arrêt de travail (volet médical)", Medical: true},
			{Code: "medical_report", Label: "Compte rendu médical", Medical: true},
		},
	},
}

// Version returns a published version of the lists.
func Version(v string) (Lists, error) {
	l, ok := versions[v]
	if !ok {
		return Lists{}, fmt.Errorf("document: no lists version %q", v)
	}
	return l, nil
}

// Current returns the lists new deposits are checked against.
func Current() Lists { l, _ := Version(CurrentVersion); return l }

// Subject finds a subject by code.
func (l Lists) Subject(code string) (Subject, bool) {
	for _, s := range l.Subjects {
		if s.Code == code {
			return s, true
		}
	}
	return Subject{}, false
}

// Nature finds a nature by code.
func (l Lists) Nature(code string) (Nature, bool) {
	for _, n := range l.Natures {
		if n.Code == code {
			return n, true
		}
	}
	return Nature{}, false
}

// MaxFileBytes is the largest file size any nature accepts: the bound a reader of a deposit's parts needs before it
// knows the part's nature.
func (l Lists) MaxFileBytes() int64 {
	var m int64
	for _, n := range l.Natures {
		m = max(m, n.MaxFileBytes)
	}
	return m
}
