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

// memberPaging is the paging of the member's own lists (consultations, requests, saved estimates).
var memberPaging = paging{Default: 50, Max: 200}

type statementsBody struct {
	Statements []consultations.Statement `json:"statements"`
	Next       *string                   `json:"next"`
}

func (s *Server) listStatements(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.deps.Finance.Statements(r.Context(), principalOf(r.Context()).ID, pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	writeJSON(w, http.StatusOK, statementsBody{Statements: nonNilSlice(list), Next: nextOf(next)})
}

// paymentsBody pages the payments; the attestations (at most one a year and kind) come whole with every page.
type paymentsBody struct {
	Payments     []consultations.Payment     `json:"payments"`
	Attestations []consultations.Attestation `json:"attestations"`
	Next         *string                     `json:"next"`
}

func (s *Server) listPayments(w http.ResponseWriter, r *http.Request) {
	member := principalOf(r.Context()).ID
	list, next, err := s.deps.Finance.Payments(r.Context(), member, pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	atts, err := s.deps.Finance.Attestations(r.Context(), member)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, paymentsBody{Payments: nonNilSlice(list), Attestations: nonNilSlice(atts), Next: nextOf(next)})
}

type invoicesBody struct {
	Invoices []consultations.Invoice `json:"invoices"`
	Next     *string                 `json:"next"`
}

func (s *Server) listInvoices(w http.ResponseWriter, r *http.Request) {
	list, next, err := s.deps.Finance.Invoices(r.Context(), principalOf(r.Context()).ID, pageOf(r).Page)
	if err != nil {
		s.writeError(w, r, pageError(r, err))
		return
	}
	writeJSON(w, http.StatusOK, invoicesBody{Invoices: nonNilSlice(list), Next: nextOf(next)})
}

type invoicePaymentRequest struct {
	Method string `json:"method"` // card, sepa_debit, transfer
}

// payInvoice pays one of the member's invoices in full; with the same Idempotency-Key a retry pays once.
func (s *Server) payInvoice(w http.ResponseWriter, r *http.Request) {
	var in invoicePaymentRequest
	member := principalOf(r.Context()).ID
	invoice := r.PathValue("invoice") // the fund's own invoice number, not a UUID
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
