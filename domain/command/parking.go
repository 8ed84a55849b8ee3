package command

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/insured"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
)

// Namespaces of the command ids of parked facts and of their deliveries. Stored event ids depend on them: never
// change them.
var (
	parkedFactNamespace     = uuid.MustParse("b7d88aee-5bf7-49ad-a1c8-d2800fbf690d")
	parkedDeliveryNamespace = uuid.MustParse("5d849957-65a0-4ab6-b33f-f1b9751af5b6")
)

// FinanceFactResult is what recording a fact reported by NIR did.
type FinanceFactResult struct {
	Result
	// MemberID is the member whose history holds the fact; uuid.Nil while the fact is parked.
	MemberID uuid.UUID
	// Parked is true when the fact waits for the person's account (parked by this call or an earlier one).
	Parked bool
}

// RecordFinanceFactByNIR records a fact the fund's other systems report about the person with NIR n (see
// RecordFinanceFact for the fact and Meta):
//
//   - when n names an open account, the fact goes to that member's history (RecordFinanceFact);
//   - otherwise, when n is in the insured-person reference, the fact is parked on
//     parkedfinance-<keyed hash of n> (consultation.Parked: no NIR in the event), idempotent by the fact's content
//     like a recorded one, until the account opens: DeliverParkedFinanceFacts then moves it into the member's
//     history (the reaction to member.Registered calls it). Parking then looks for the account again, and delivers
//     at once if it opened meanwhile, so a fact parked while an activation completes is not left behind;
//   - otherwise the fact is consultation.ErrNotInsured (Rule): a person who is not in the reference cannot open an
//     account, so the fact could never be shown, and the fund's data about people it does not cover are not kept.
//
// Result.Position is 0 when nothing was appended. Errors: the consultation validation sentinels (Invalid, with their
// field), consultation.ErrConflictingRecord and ErrNotInsured (Rule), the store's.
func (h *Finance) RecordFinanceFactByNIR(ctx context.Context, m Meta, n nir.NIR, fact any) (FinanceFactResult, error) {
	const op = "command.RecordFinanceFactByNIR"
	fact, err := consultation.Normalize(fact)
	if err != nil {
		return FinanceFactResult{}, failure.Op(op, err)
	}
	if n.IsZero() {
		return FinanceFactResult{}, failure.Op(op, consultation.ErrNotInsured)
	}
	if id, mm, err := h.memberByNIR(ctx, h.keys, n); err != nil {
		return FinanceFactResult{}, failure.Op(op, err)
	} else if mm != nil {
		res, err := h.RecordFinanceFact(ctx, m, id, fact)
		if err != nil {
			return FinanceFactResult{}, failure.Op(op, err)
		}
		return FinanceFactResult{Result: res, MemberID: id}, nil
	}
	person, err := h.store.Load(ctx, insured.StreamFor(h.keys, n))
	if err != nil {
		return FinanceFactResult{}, failure.Op(op, err)
	}
	if !insured.Rehydrate(person).Known() {
		return FinanceFactResult{}, failure.Op(op, consultation.ErrNotInsured)
	}

	stream := h.parkedStream(n.Body())
	cmd, err := h.factCommand(m, parkedFactNamespace, stream, fact)
	if err != nil {
		return FinanceFactResult{}, failure.Op(op, err)
	}
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		p := consultation.RehydrateParked(history)
		_, err := p.Park(fact)
		return p.Events(), err
	})
	if err != nil {
		return FinanceFactResult{}, failure.Op(op, err)
	}

	// The account may have opened between the look-up above and the park: its Registered event may then have been
	// handled before the fact was parked. Looking again after the park closes that window: either the account is
	// seen now, and the fact is delivered here, or it opens later, and its reaction finds the fact.
	id, mm, err := h.memberByNIR(ctx, h.keys, n)
	if err != nil {
		return FinanceFactResult{}, failure.Op(op, err)
	}
	if mm != nil {
		res, err := h.DeliverParkedFinanceFacts(ctx, Meta{Actor: m.Actor, CorrelationID: cmd.Metadata.CorrelationID,
			CommandID: cmd.Metadata.CausationID}, id)
		if err != nil {
			return FinanceFactResult{}, failure.Op(op, err)
		}
		return FinanceFactResult{Result: res.Result, MemberID: id}, nil
	}
	res := FinanceFactResult{Parked: true}
	if commit.Appended > 0 {
		res.Position = commit.Position
	}
	return res, nil
}

// ParkedDelivery is what DeliverParkedFinanceFacts did.
type ParkedDelivery struct {
	Result
	// Delivered counts the parked facts handed to the member by this call; Refused those that could not be (the
	// member's history holds the same id with other data). Both are 0 when there was nothing left to deliver.
	Delivered, Refused int
}

// DeliverParkedFinanceFacts moves the facts parked for member memberID's NIR (see RecordFinanceFactByNIR) into the
// member's history, each through RecordFinanceFact (event ids derived from the fact: a fact already there is not
// appended again), keeping the actor and correlation id of its report and the parked event as causation; then it
// records on the parked stream which facts were delivered (consultation.ParkedFactsDelivered), so that they are
// never delivered again. A fact that cannot be recorded (consultation.ErrConflictingRecord, or a validation
// tightened since) is marked refused with its code and not tried again. Calling it again, concurrently or later,
// delivers nothing twice.
//
// m names who delivers (the reaction, or the report whose park found the account open); Meta.CommandID, when set,
// is the causation of the delivery record. Errors: member.not_found for an account not (yet) open; the store's,
// after which a retry resumes where this call stopped.
func (h *Finance) DeliverParkedFinanceFacts(ctx context.Context, m Meta, memberID uuid.UUID) (ParkedDelivery, error) {
	const op = "command.DeliverParkedFinanceFacts"
	if memberID == uuid.Nil {
		return ParkedDelivery{}, failure.Op(op, member.ErrNotFound)
	}
	mm, err := h.loadMember(ctx, memberID)
	if err != nil {
		return ParkedDelivery{}, failure.Op(op, err)
	}
	if !mm.Registered() {
		return ParkedDelivery{}, failure.Op(op, member.ErrNotFound)
	}
	if mm.Erased() {
		return ParkedDelivery{}, failure.Op(op, member.ErrErased)
	}
	n, err := nir.ParseLogin(mm.Identity().NIR)
	if err != nil {
		return ParkedDelivery{}, failure.Opf(op, "stored NIR: %w", err)
	}
	stream := h.parkedStream(n.Body())
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return ParkedDelivery{}, failure.Op(op, err)
	}
	waiting := consultation.RehydrateParked(history).Waiting()
	if len(waiting) == 0 {
		return ParkedDelivery{}, nil
	}

	var (
		out       ParkedDelivery
		delivered []consultation.FactRef
		refused   []consultation.RefusedFact
		keys      []string
	)
	for _, w := range waiting {
		res, err := h.RecordFinanceFact(ctx, Meta{Actor: w.Actor, CorrelationID: w.CorrelationID, CommandID: w.EventID},
			memberID, w.Fact)
		switch kind := failure.KindOf(err); {
		case err == nil:
			delivered = append(delivered, w.Ref)
			keys = append(keys, "d", w.Ref.Kind, w.Ref.ID)
			out.Position = max(out.Position, res.Position)
		case kind == failure.Rule || kind == failure.Invalid:
			refused = append(refused, consultation.RefusedFact{Kind: w.Ref.Kind, ID: w.Ref.ID, Code: failure.CodeOf(err)})
			keys = append(keys, "r", w.Ref.Kind, w.Ref.ID)
		default:
			return ParkedDelivery{}, failure.Op(op, err)
		}
	}

	m = h.withCommandID(m)
	cmdID := uuid.NewSHA1(parkedDeliveryNamespace, []byte(stream.String()+"\x1f"+memberID.String()+"\x1f"+
		strings.Join(keys, "\x1f")))
	cmd := h.commandAt(Meta{Actor: m.Actor, CorrelationID: m.CorrelationID, CommandID: cmdID}, stream, h.clock().UTC())
	cmd.Metadata.CommandID = cmdID
	cmd.Metadata.CausationID = m.CommandID
	cmd.RetryOnConflict = financeRetries
	var marked consultation.ParkedFactsDelivered
	commit, err := h.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
		p := consultation.RehydrateParked(history)
		p.MarkDelivered(memberID, delivered, refused)
		events := p.Events()
		marked = consultation.ParkedFactsDelivered{}
		for _, e := range events {
			marked, _ = e.(consultation.ParkedFactsDelivered)
		}
		return events, nil
	})
	if err != nil {
		return ParkedDelivery{}, failure.Op(op, err)
	}
	if commit.Appended == 0 { // a concurrent delivery marked them first: the same facts, so nothing is lost
		return ParkedDelivery{Result: Result{Position: out.Position}}, nil
	}
	out.Delivered, out.Refused = len(marked.Delivered), len(marked.Refused)
	out.Position = max(out.Position, commit.Position)
	return out, nil
}

// parkedStream is the stream of the facts parked for the NIR whose body is nirBody.
func (h *Finance) parkedStream(nirBody string) event.StreamID {
	return event.NewStreamID(consultation.ParkedCategory, h.keys.StreamFor(consultation.ParkedCategory, nirBody))
}
