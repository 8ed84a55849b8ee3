package httpapi

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/projections/consultations"
)

// Consultations: facts the fund's other systems record in the member's history (daily-allowance statements,
// payments, invoices), read from a projection; paying an invoice and asking for a payment attestation are commands.
// Every query takes the member id from the session.

type statementsBody struct {
	Statements []consultations.Statement `json:"statements"`
}

func (s *Server) listStatements(w http.ResponseWriter, r *http.Request) {
	list, err := s.deps.Finance.Statements(r.Context(), principalOf(r.Context()).ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, statementsBody{Statements: nonNilSlice(list)})
}

type paymentsBody struct {
	Payments     []consultations.Payment     `json:"payments"`
	Attestations []consultations.Attestation `json:"attestations"`
}

func (s *Server) listPayments(w http.ResponseWriter, r *http.Request) {
	member := principalOf(r.Context()).ID
	list, err := s.deps.Finance.Payments(r.Context(), member)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	atts, err := s.deps.Finance.Attestations(r.Context(), member)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, paymentsBody{Payments: nonNilSlice(list), Attestations: nonNilSlice(atts)})
}

type invoicesBody struct {
	Invoices []consultations.Invoice `json:"invoices"`
}

func (s *Server) listInvoices(w http.ResponseWriter, r *http.Request) {
	list, err := s.deps.Finance.Invoices(r.Context(), principalOf(r.Context()).ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, invoicesBody{Invoices: nonNilSlice(list)})
}

type invoicePaymentRequest struct {
	Method string `json:"method"` // card, sepa_debit, transfer
}

// payInvoice pays one of the member's invoices in full; with the same Idempotency-Key a retry pays once.
func (s *Server) payInvoice(w http.ResponseWriter, r *http.Request) {
	var in invoicePaymentRequest
	member := principalOf(r.Context()).ID
	invoice := r.PathValue("id")
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.FinanceCommands.PayInvoice(r.Context(), m, member, invoice, in.Method)
		return http.StatusOK, res.Position, positionOf(res.Position), err
	})
}

type attestationRequest struct {
	Year int `json:"year"`
}

type attestationBody struct {
	AttestationID uuid.UUID `json:"attestation_id"`
	Year          int       `json:"year"`
	IssuedAt      time.Time `json:"issued_at"`
	Position      string    `json:"position"`
}

// requestPaymentAttestation records the issue of an attestation of the payments of a year (the PDF comes later).
func (s *Server) requestPaymentAttestation(w http.ResponseWriter, r *http.Request) {
	var in attestationRequest
	member := principalOf(r.Context()).ID
	s.runCommand(w, r, &in, func(m command.Meta) (int, uint64, any, error) {
		res, err := s.deps.FinanceCommands.RequestPaymentAttestation(r.Context(), m, member, in.Year)
		return http.StatusCreated, res.Position, attestationBody{AttestationID: res.AttestationID, Year: in.Year,
			IssuedAt: time.Now().UTC(), Position: formatPosition(res.Position)}, err
	})
}
