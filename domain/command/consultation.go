package command

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
)

// financeFactNamespace names the command ids of recorded external facts. Stored event ids depend on it: never
// change it.
var financeFactNamespace = uuid.MustParse("0b7f6c1e-3d0a-5b8e-9c41-6a2f1d9e7c30")

// FinanceIntegrationActor is the actor of recorded external facts when the caller names none.
var FinanceIntegrationActor = event.Actor{ID: "integration/finance", Role: event.RoleSystem}

// financeRetries is how often a finance decision is made again over a newer history after a lost race (re-deciding
// is safe: every decision reads the facts it depends on).
const financeRetries = 3

// RecordFinanceFact records on memberfinance-<memberID> a fact the fund's other systems report: a
// consultation.DailyAllowanceStatementRecorded, PaymentRecorded or InvoiceIssued (see consultation.Finance.Record).
// It is what the integration consumer and `dossier admin import-finance` call.
//
// The command id, hence the event id, derives from the member, the fact's kind, its external id and its data, not
// from Meta.CommandID: a redelivered message or a file imported again appends nothing, whatever message id it
// carries. The same external id with other data is consultation.ErrConflictingRecord (Rule). Meta.CommandID, when
// set (the message id), is kept as causation id; the actor should be the system that reports the fact.
//
// Result.Position is 0 when nothing was appended (the fact was already recorded). Errors: member.not_found for a
// member without an open account; the consultation validation sentinels, wrapped with their field.
func (h *Finance) RecordFinanceFact(ctx context.Context, m Meta, memberID uuid.UUID, fact any) (Result, error) {
	const op = "command.RecordFinanceFact"
	fact, err := consultation.Normalize(fact)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	if memberID == uuid.Nil {
		return Result{}, failure.Op(op, member.ErrNotFound)
	}
	mm, err := h.loadMember(ctx, memberID)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	if !mm.Registered() {
		return Result{}, failure.Op(op, member.ErrNotFound)
	}
	if mm.Erased() {
		return Result{}, failure.Op(op, member.ErrErased)
	}
	stream := event.NewStreamID(consultation.Category, memberID)
	cmd, err := h.factCommand(m, financeFactNamespace, stream, fact)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		f := consultation.Rehydrate(history)
		_, err := f.Record(fact)
		return f.Events(), err
	})
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	if commit.Appended == 0 {
		return Result{}, nil
	}
	return Result{Position: commit.Position}, nil
}

// factCommand is the command that records fact on stream: its id derives from the stream, the fact's kind and
// external id and its whole content (under namespace), so the same fact reported again appends nothing while the
// same id with other data reaches the aggregate (and its conflict rule). The reporter's command id, when there is
// one, becomes the causation; the actor defaults to FinanceIntegrationActor.
func (h *Finance) factCommand(m Meta, namespace uuid.UUID, stream event.StreamID, fact any) (event.Command, error) {
	kind, externalID, _ := consultation.FactKey(fact)
	data, err := json.Marshal(fact)
	if err != nil {
		return event.Command{}, err
	}
	cmdID := uuid.NewSHA1(namespace, []byte(strings.Join(
		[]string{stream.String(), kind, externalID, string(data)}, "\x1f")))
	if m.Actor.ID == "" {
		m.Actor = FinanceIntegrationActor
	}
	cmd := h.commandAt(Meta{Actor: m.Actor, CorrelationID: m.CorrelationID, CommandID: cmdID}, stream, h.clock().UTC())
	cmd.Metadata.CommandID = cmdID
	if m.CommandID != uuid.Nil {
		cmd.Metadata.CausationID = m.CommandID
	}
	cmd.RetryOnConflict = financeRetries
	return cmd, nil
}

// PayInvoice records that member memberID pays invoice invoiceID (an id of consultation.InvoiceIssued) by method
// (consultation.PaymentMethods), for its whole amount. It is idempotent with Meta.CommandID (the Idempotency-Key):
// a retry returns the original commit and appends nothing; another payment of a paid invoice is
// consultation.ErrInvoiceAlreadyPaid (Rule). An invoice the member does not have is consultation.ErrInvoiceNotFound
// (NotFound), also when it is another member's.
func (h *Finance) PayInvoice(ctx context.Context, m Meta, memberID uuid.UUID, invoiceID, method string) (Result, error) {
	const op = "command.PayInvoice"
	if memberID == uuid.Nil {
		return Result{}, failure.Op(op, consultation.ErrInvoiceNotFound)
	}
	now := h.clock().UTC()
	m = withActor(h.withCommandID(m), memberID)
	stream := event.NewStreamID(consultation.Category, memberID)
	cmd := h.commandAt(m, stream, now)
	cmd.Metadata.CommandID = uuid.NewSHA1(cmd.Metadata.CommandID, []byte("pay-invoice "+invoiceID))
	cmd.RetryOnConflict = financeRetries
	commit, err := h.decideOn(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		f := consultation.Rehydrate(history)
		err := f.PayInvoice(invoiceID, method, now)
		return f.Events(), err
	}, nil)
	if err != nil {
		return Result{}, failure.Op(op, err)
	}
	return Result{Position: commit.Position}, nil
}

// AttestationResult is an issued payment attestation.
type AttestationResult struct {
	Result
	AttestationID uuid.UUID
}

// RequestPaymentAttestation records that member memberID asks for the attestation of the payments of year (from
// 2000 to the current year: consultation.ErrYearInvalid otherwise). The attestation id derives from Meta.CommandID:
// a retry returns the same attestation and appends nothing. The document is produced later, from the event.
func (h *Finance) RequestPaymentAttestation(ctx context.Context, m Meta, memberID uuid.UUID, year int) (AttestationResult, error) {
	const op = "command.RequestPaymentAttestation"
	if memberID == uuid.Nil {
		return AttestationResult{}, failure.Op(op, member.ErrNotFound)
	}
	now := h.clock().UTC()
	m = withActor(h.withCommandID(m), memberID)
	stream := event.NewStreamID(consultation.Category, memberID)
	cmd := h.commandAt(m, stream, now)
	cmd.RetryOnConflict = financeRetries
	id := uuid.NewSHA1(cmd.Metadata.CommandID, []byte("payment-attestation"))
	commit, err := h.decideOn(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		f := consultation.Rehydrate(history)
		err := f.IssueAttestation(id, year, now)
		return f.Events(), err
	}, nil)
	if err != nil {
		return AttestationResult{}, failure.Op(op, err)
	}
	return AttestationResult{Result: Result{Position: commit.Position}, AttestationID: id}, nil
}

// MemberByNIR returns the member whose open account a NIR names (through its nirclaim stream), or false when there
// is none: no account, or an activation that was interrupted. It is how an import from the fund's files, which
// know people by NIR, finds the member.
func (h *Finance) MemberByNIR(ctx context.Context, n nir.NIR) (uuid.UUID, bool, error) {
	id, mm, err := h.memberByNIR(ctx, h.keys, n)
	if err != nil || mm == nil {
		return uuid.Nil, false, err
	}
	return id, true, nil
}
