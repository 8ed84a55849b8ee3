// Package integration consumes the facts the fund's other systems report about a member and records them as
// events in the member's history (domain/consultation): daily-allowance statements, payments and invoices.
//
// # Message format
//
// A message on FinanceTopic carries one fact. Its payload is a JSON object:
//
//	{"kind": "payment", "nir": "185037511504216", "fact": {"payment_id": "PF-1", ...}}
//	{"kind": "invoice", "member_id": "6f1c…", "fact": {"invoice_id": "F-1", ...}}
//
// kind is consultation.FactStatement, FactPayment or FactInvoice; fact is the JSON of the matching event, with the
// event's own field names (see consultation.DecodeFact); the member is named by exactly one of member_id (the
// member's uuid) or nir (the 15-character NIR with its key, as the fund's files know people). The NIR goes only in
// the payload: never in metadata, which brokers and logs show. Metadata is optional: "correlation_id" (a uuid)
// becomes the correlation id of the recorded event; otherwise the message UUID is. The message UUID is the
// causation id.
//
// # Delivery
//
// Recording is idempotent (command.Handler.RecordFinanceFact derives the event id from the member and the fact): a
// redelivered message, or the same fact in a new message, records nothing more. A message that can never be recorded
// (malformed JSON, unknown kind, invalid fact, unknown member, a fact whose id is recorded with other data) makes
// FinanceHandler return an error of kind failure.Invalid, with the code of its cause: retrying it cannot succeed, so
// the consumer must not retry it but acknowledge it (poison it). Consume does so; a watermill Router running
// FinanceHandler must be configured alike (no retry of Invalid errors, a poison queue). Any other error (the event
// store out of reach) is transient: the message is delivered again.
//
// `dossier admin import-finance` builds one such message per line of its file and passes it to the same handler.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/nir"
)

// FinanceTopic is the topic of the finance facts the fund's other systems publish.
const FinanceTopic = "dossier.finance-facts"

// MetaCorrelationID is the optional metadata key of a message's correlation id (a uuid).
const MetaCorrelationID = "correlation_id"

// messageIDNamespace names the causation ids derived from message UUIDs that are not uuids.
var messageIDNamespace = uuid.MustParse("5d2e8a41-7c3b-5f0e-a9d6-2b4c8e1f3a70")

// Errors of a message that can never be recorded (all Invalid: acknowledge, do not retry).
var (
	ErrMalformed = failure.New(failure.Invalid, "integration.malformed_message",
		"Le message n'est pas un objet JSON {kind, member_id ou nir, fact}.")
	ErrMemberRef = failure.New(failure.Invalid, "integration.member_reference",
		"Le message doit désigner l'adhérent par member_id ou par nir (un seul des deux).")
	ErrUnknownMember = failure.New(failure.Invalid, "integration.member_unknown",
		"Aucun compte en ligne ouvert pour cet adhérent : l'élément n'est pas enregistré.")
)

// FinanceRecorder is what FinanceHandler needs of the application layer; *command.Handler implements it.
type FinanceRecorder interface {
	RecordFinanceFact(ctx context.Context, m command.Meta, memberID uuid.UUID, fact any) (command.Result, error)
	MemberByNIR(ctx context.Context, n nir.NIR) (uuid.UUID, bool, error)
}

// FinanceMessage is the payload of a message on FinanceTopic (see the package documentation).
type FinanceMessage struct {
	Kind     string          `json:"kind"`
	MemberID string          `json:"member_id,omitempty"`
	NIR      string          `json:"nir,omitempty"`
	Fact     json.RawMessage `json:"fact"`
}

// FinanceHandler records the fact a message carries, with actor command.FinanceIntegrationActor (a recorder may
// substitute its own). Errors of kind Invalid are final (see the package documentation); their messages never quote
// the message's data.
func FinanceHandler(cmds FinanceRecorder) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		const op = "integration.FinanceHandler"
		ctx := msg.Context()
		var body FinanceMessage
		dec := json.NewDecoder(bytes.NewReader(msg.Payload))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || dec.More() {
			return failure.Wrap(op, failure.Internal, ErrMalformed)
		}
		var (
			memberID uuid.UUID
			n        nir.NIR
		)
		switch {
		case body.MemberID != "" && body.NIR == "":
			id, err := uuid.Parse(body.MemberID)
			if err != nil || id == uuid.Nil {
				return failure.Wrap(op, failure.Internal, failure.Field("member_id", ErrMemberRef))
			}
			memberID = id
		case body.NIR != "" && body.MemberID == "":
			parsed, err := nir.Parse(body.NIR)
			if err != nil {
				return invalid(op, failure.Field("nir", err))
			}
			n = parsed
		default:
			return failure.Wrap(op, failure.Internal, ErrMemberRef)
		}
		fact, err := consultation.DecodeFact(body.Kind, body.Fact)
		if errors.Is(err, consultation.ErrUnknownFact) {
			err = failure.Field("kind", err)
		}
		if err == nil {
			_, err = consultation.Normalize(fact)
		}
		if err != nil {
			return invalid(op, err)
		}
		if memberID == uuid.Nil {
			id, ok, err := cmds.MemberByNIR(ctx, n)
			if err != nil {
				return failure.Wrap(op, failure.Internal, err)
			}
			if !ok {
				return failure.Wrap(op, failure.Internal, ErrUnknownMember)
			}
			memberID = id
		}
		causation := messageID(msg.UUID)
		correlation := causation
		if c, err := uuid.Parse(msg.Metadata.Get(MetaCorrelationID)); err == nil && c != uuid.Nil {
			correlation = c
		}
		_, err = cmds.RecordFinanceFact(ctx, command.Meta{Actor: command.FinanceIntegrationActor,
			CorrelationID: correlation, CommandID: causation}, memberID, fact)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, member.ErrNotFound):
			return failure.Wrap(op, failure.Internal, ErrUnknownMember)
		case failure.KindOf(err) == failure.Invalid || failure.KindOf(err) == failure.Rule:
			return invalid(op, err)
		}
		return failure.Wrap(op, failure.Internal, err)
	}
}

// invalid classifies err as Invalid, keeping its code (and its field).
func invalid(op string, err error) error {
	if failure.KindOf(err) == failure.Invalid {
		return failure.Wrap(op, failure.Internal, err)
	}
	return &failure.Error{Op: op, Kind: failure.Invalid, Code: failure.CodeOf(err), Err: err}
}

// messageID is the uuid of a message: its UUID, or one derived from it when it is not a uuid.
func messageID(s string) uuid.UUID {
	if id, err := uuid.Parse(s); err == nil && id != uuid.Nil {
		return id
	}
	return uuid.NewSHA1(messageIDNamespace, []byte(s))
}

// RetryDelay is how long Consume waits before a message it nacked is delivered again.
var RetryDelay = time.Second

// Consume subscribes to FinanceTopic on sub and passes every message to handler, one at a time: it acknowledges
// the message when handler succeeds or fails with an Invalid error (logged with its code, kind and field, never the
// message's data), and nacks it otherwise (delivered again after RetryDelay). It returns when ctx ends (nil) or the
// subscription closes (nil), or the subscription's error.
func Consume(ctx context.Context, sub message.Subscriber, handler message.NoPublishHandlerFunc, logger *slog.Logger) error {
	msgs, err := sub.Subscribe(ctx, FinanceTopic)
	if err != nil {
		return failure.Wrap("integration.Consume", failure.Unavailable, err)
	}
	for {
		var msg *message.Message
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case msg, ok = <-msgs:
			if !ok {
				return nil
			}
		}
		msg.SetContext(ctx)
		err := handler(msg)
		switch {
		case err == nil:
			msg.Ack()
		case failure.KindOf(err) == failure.Invalid:
			logger.Warn("finance fact rejected", "message_uuid", msg.UUID, "code", failure.CodeOf(err),
				"field", failure.FieldOf(err))
			msg.Ack()
		default:
			logger.Error("finance fact not recorded, will retry", "message_uuid", msg.UUID,
				"kind", failure.KindOf(err).String(), "code", failure.CodeOf(err))
			select {
			case <-ctx.Done():
				msg.Nack()
				return nil
			case <-time.After(RetryDelay):
			}
			msg.Nack()
		}
	}
}
