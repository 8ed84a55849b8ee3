package catalog

import (
	"net/mail"
	"strings"
)

// ServiceInCharge is the service of the fund handling a queue's requests, as the acknowledgement of receipt names
// it (CRPA R112-5 2°: its name, postal address, phone number and email). It is data of the fund beside the
// catalogue: the catalogue's services route to queues, and each queue is handled by one service. The
// acknowledgement records it as it stood at receipt, so a later change of address changes no acknowledgement
// already given.
type ServiceInCharge struct {
	Name    string `json:"name"`
	Address string `json:"address"` // the postal address, its lines separated by "\n"
	Phone   string `json:"phone"`
	Email   string `json:"email"`
}

// fundAddress is the fund's postal address, shared by its services. [~] The embedded default's: a fund deploying
// Dossier replaces these contacts with its own (a change here is a release, reviewed like the catalogue).
const fundAddress = "MSA — Caisse de Mutualité sociale agricole\n1 rue de la Mutualité\n49000 Angers"

// fundPhone is the fund's switchboard.
const fundPhone = "02 41 31 75 75"

func inCharge(name, email string) ServiceInCharge {
	return ServiceInCharge{Name: name, Address: fundAddress, Phone: fundPhone, Email: email}
}

// servicesInCharge maps every queue of every published catalogue version to the service handling it. A queue
// added by a later version gets its line here in the same change (TestEveryQueueHasAServiceInCharge).
var servicesInCharge = map[string]ServiceInCharge{
	"pro-attestations":    inCharge("Service des cotisations des non-salariés agricoles", "cotisations@msa.example.fr"),
	"pro-affiliation":     inCharge("Service affiliation des non-salariés agricoles", "affiliation@msa.example.fr"),
	"pro-atexa":           inCharge("Service accidents du travail des non-salariés (ATEXA)", "atexa@msa.example.fr"),
	"pro-cotisations":     inCharge("Service des cotisations des non-salariés agricoles", "cotisations@msa.example.fr"),
	"pro-televersement":   inCharge("Service déclarations et téléversements", "declarations@msa.example.fr"),
	"sante-cartes":        inCharge("Service santé — cartes d'assurance maladie", "sante@msa.example.fr"),
	"sante-c2s":           inCharge("Service santé — complémentaire santé solidaire", "c2s@msa.example.fr"),
	"sante-invalidite":    inCharge("Service médical — pensions d'invalidité", "service-medical@msa.example.fr"),
	"famille-situation":   inCharge("Service famille — situation et ressources", "famille@msa.example.fr"),
	"famille-prestations": inCharge("Service famille — prestations familiales", "famille@msa.example.fr"),
	"famille-logement":    inCharge("Service famille — aides au logement", "logement@msa.example.fr"),
	"rsa-ppa":             inCharge("Service solidarité — RSA et prime d'activité", "solidarite@msa.example.fr"),
	"retraite":            inCharge("Service retraite", "retraite@msa.example.fr"),
	"action-sociale":      inCharge("Service action sanitaire et sociale", "action-sociale@msa.example.fr"),
}

// InCharge returns the service handling the requests of queue, and false for a queue without one.
func InCharge(queue string) (ServiceInCharge, bool) {
	s, ok := servicesInCharge[queue]
	return s, ok
}

// Complete reports whether every part R112-5 asks for is there, with a well-formed email.
func (s ServiceInCharge) Complete() bool {
	if strings.TrimSpace(s.Name) == "" || strings.TrimSpace(s.Address) == "" || strings.TrimSpace(s.Phone) == "" {
		return false
	}
	a, err := mail.ParseAddress(s.Email)
	return err == nil && a.Address == s.Email
}
