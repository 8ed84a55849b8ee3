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
// # People without an online account
//
// The fund pays people who may open their online account later, and they expect to find their history then. A fact
// whose NIR names no open account is therefore parked (command.Finance.RecordFinanceFactByNIR) when the person is in
// the insured-person reference: it is kept on the stream parkedfinance-<keyed hash of the NIR> (the hash has its own
// purpose, so the stream cannot be linked to the person's other lookup streams without the server key; the event
// holds the fact and no NIR), idempotent by its content like a recorded fact. When the account opens, the reaction
// DeliveryHandler moves the parked facts into the member's history through RecordFinanceFact, keeping the reporter
// as actor, and records on the parked stream that they were delivered, so that they are never delivered twice (see
// command.Finance.DeliverParkedFinanceFacts, and RecordFinanceFactByNIR for the race with an activation in
// progress). It reacts to member.Registered rather than to the NIR claim: Registered is the last append of an
// activation for the member (the account is open, RecordFinanceFact accepts it), and the member's stream gives the
// NIR from which the server derives the parked stream, whereas the claim stream's id is a hash of another purpose. A NIR that is not even in the insured-person reference is rejected
// (consultation.not_insured): such a person cannot open an account, so the fact could never be shown, and Dossier
// does not keep data about people the fund does not declare covered; the rejection is in the log (by message UUID
// and code) and in the import report, so the fund can send the fact again once its reference is loaded.
//
// # Delivery
//
// Recording is idempotent (event ids derive from the member, or the parked stream, and the fact): a redelivered
// message, or the same fact in a new message, records nothing more. A message that can never be recorded (malformed
// JSON, unknown kind, invalid fact, unknown member id, a NIR outside the reference, a fact whose id is recorded with
// other data) makes Finance return OutcomeRejected and an error of kind failure.Invalid, with the code of its cause:
// retrying it cannot succeed, so the consumer must not retry it but acknowledge it (a message left unacknowledged
// would block the topic, which is consumed in order). Consumer does so; a watermill Router running FinanceHandler
// must be configured alike (no retry of Invalid errors, a poison queue). Any other error (the event store out of
// reach) is transient: the message is nacked and delivered again until it goes through.
//
// `dossier admin import-finance` builds one such message per line of its file and passes it to the same function,
// so a file and the topic behave alike (parking included).
//
// # Transport: PostgreSQL through watermill-sql
//
// `dossier serve --integration-url postgres://…` consumes the topic from a PostgreSQL database where the fund's
// systems publish with watermill-sql (github.com/ThreeDotsLabs/watermill-sql/v4): a Publisher with
// DefaultPostgreSQLSchema{} and its default table names, that is rows in "watermill_dossier.finance-facts". No
// other broker is needed: the fund already runs PostgreSQL, and a publisher can insert its message in the same
// transaction as its own data (a transactional outbox on its side). The choices, from the library's sources:
//
//   - Schema: DefaultPostgreSQLSchema, not PostgreSQLQueueSchema. The default schema is a log: messages stay in the
//     table, each consumer group keeps its own offset, and the subscriber reads only rows whose transaction is
//     older than every transaction still running (pg_snapshot_xmin), so a message committed late by a slow
//     publisher is never skipped and the order is the commit order. The queue schema marks or deletes rows on ack,
//     supports no consumer groups (another consumer of the topic, an audit or a data warehouse, would steal the
//     messages), and in v4.1.2 its ack query covers every row of the polled batch, including the rows after one
//     that was not acknowledged: a message past its ack deadline, or a Close in the middle of a batch, would lose
//     the rest of the batch.
//   - Offsets: DefaultPostgreSQLOffsetsAdapter, consumer group ConsumerGroup ("dossier"), one row in
//     "watermill_offsets_dossier.finance-facts". The polling transaction locks that row (SELECT … FOR UPDATE), so
//     several replicas of Dossier consume one after the other, never the same message in parallel, and the offset
//     is stored in the same transaction that read the batch.
//   - Acknowledgement: a batch (postgresBatchSize, 10 messages) is read in one REPEATABLE READ transaction and
//     handed over one message at a time; the offset of the last acknowledged message is committed at the end of the
//     batch. A nack makes the subscriber deliver the same message again (after the Consumer's RetryDelay); a message
//     still unacknowledged after postgresAckDeadline (30s) ends the transaction, keeping the offsets acknowledged so
//     far, and comes again in the next one. A crash redelivers at most the current batch: harmless, recording is
//     idempotent.
//   - Schema creation: the subscriber creates the two tables if they are missing (InitializeSchema, CREATE TABLE IF
//     NOT EXISTS under an advisory lock), so the database role needs CREATE on its schema, or an operator creates
//     the tables beforehand with the same DDL. Publishers may initialise them too (AutoInitializeSchema).
//   - Polling: every PostgresConfig.PollInterval (default 1s) while the topic is idle, at once while it has
//     messages.
//
// Operations: rows are never deleted by the consumer. Once every consumer group's offset has passed them, they may
// be deleted (by transaction_id below the smallest last_processed_transaction_id of the offsets table). A row
// whose metadata is not a JSON object of strings cannot be read by the subscriber and stops the topic until it is
// fixed (watermill publishers always write such objects; the payload column is JSON, so PostgreSQL refuses a
// non-JSON payload at publication).
//
// The same broker and Consumer carry DocumentsTopic, the fund's documents for members' inboxes (see DocumentsTopic
// and Documents); its rows are in "watermill_dossier.documents".
//
// Metrics: dossier_integration_finance_messages_total{outcome, code} (see Metrics), and
// dossier_integration_documents_messages_total for DocumentsTopic. The consumer's readiness
// (Consumer.Ready) is the "integration" check of /readyz: subscribed, and the broker answers.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

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
		"message is not a JSON object {kind, member_id or nir, fact}")
	ErrMemberRef = failure.New(failure.Invalid, "integration.member_reference",
		"message must name the member by member_id or by nir (exactly one)")
	// ErrUnknownMember: a member_id that names no open account (a fact named by NIR is parked instead).
	ErrUnknownMember = failure.New(failure.Invalid, "integration.member_unknown",
		"no open online account for this member: fact not recorded")
)

// FinanceRecorder is what FinanceHandler needs of the application layer; *command.Finance implements it.
type FinanceRecorder interface {
	RecordFinanceFact(ctx context.Context, m command.Meta, memberID uuid.UUID, fact any) (command.Result, error)
	RecordFinanceFactByNIR(ctx context.Context, m command.Meta, n nir.NIR, fact any) (command.FinanceFactResult, error)
}

// FinanceMessage is the payload of a message on FinanceTopic (see the package documentation).
type FinanceMessage struct {
	Kind     string          `json:"kind"`
	MemberID string          `json:"member_id,omitempty"`
	NIR      string          `json:"nir,omitempty"`
	Fact     json.RawMessage `json:"fact"`
}

// Outcome is what became of a finance message. Outcomes are metric label values: never rename one.
type Outcome string

// The outcomes.
const (
	// OutcomeRecorded: the fact was appended to the member's history.
	OutcomeRecorded Outcome = "recorded"
	// OutcomeUnchanged: the member's history already held the fact (a redelivery, a file imported again).
	OutcomeUnchanged Outcome = "unchanged"
	// OutcomeParked: the NIR names no open account yet; the fact waits for it (parked now or before).
	OutcomeParked Outcome = "parked"
	// OutcomeRejected: the message can never be recorded (an Invalid error): acknowledged, not retried.
	OutcomeRejected Outcome = "rejected"
	// OutcomeRetried: a transient failure (the event store out of reach): the message comes again.
	OutcomeRetried Outcome = "retried"
)

// FinanceFunc handles one finance message and says what became of it: OutcomeRecorded, OutcomeUnchanged or
// OutcomeParked with a nil error; OutcomeRejected with an error of kind failure.Invalid (final); OutcomeRetried with
// any other error (transient).
type FinanceFunc func(msg *message.Message) (Outcome, error)

// Finance returns the FinanceFunc that records the fact a message carries, with actor
// command.FinanceIntegrationActor (a recorder may substitute its own). A message naming the member by NIR goes
// through command.Finance.RecordFinanceFactByNIR: recorded in the history of the account the NIR names, or parked
// until that account opens when the person is in the insured-person reference, or rejected
// (consultation.not_insured) when not even there. Errors of kind Invalid are final (see the package
// documentation); their messages never quote the message's data.
func Finance(cmds FinanceRecorder) FinanceFunc {
	return func(msg *message.Message) (Outcome, error) {
		const op = "integration.Finance"
		ctx := msg.Context()
		var body FinanceMessage
		dec := json.NewDecoder(bytes.NewReader(msg.Payload))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil || dec.More() {
			return OutcomeRejected, failure.Wrap(op, failure.Internal, ErrMalformed)
		}
		memberID, n, err := memberRef(op, body.MemberID, body.NIR)
		if err != nil {
			return OutcomeRejected, err
		}
		fact, err := consultation.DecodeFact(body.Kind, body.Fact)
		if errors.Is(err, consultation.ErrUnknownFact) {
			err = failure.Field("kind", err)
		}
		if err == nil {
			_, err = consultation.Normalize(fact)
		}
		if err != nil {
			return OutcomeRejected, invalid(op, err)
		}
		causation := messageID(msg.UUID)
		correlation := causation
		if c, err := uuid.Parse(msg.Metadata.Get(MetaCorrelationID)); err == nil && c != uuid.Nil {
			correlation = c
		}
		meta := command.Meta{Actor: command.FinanceIntegrationActor, CorrelationID: correlation, CommandID: causation}
		var res command.FinanceFactResult
		if memberID != uuid.Nil {
			res.Result, err = cmds.RecordFinanceFact(ctx, meta, memberID, fact)
		} else {
			res, err = cmds.RecordFinanceFactByNIR(ctx, meta, n, fact)
		}
		switch {
		case err == nil && res.Parked:
			return OutcomeParked, nil
		case err == nil && res.Position == 0:
			return OutcomeUnchanged, nil
		case err == nil:
			return OutcomeRecorded, nil
		case errors.Is(err, member.ErrNotFound):
			return OutcomeRejected, failure.Wrap(op, failure.Internal, ErrUnknownMember)
		case failure.KindOf(err) == failure.Invalid || failure.KindOf(err) == failure.Rule:
			return OutcomeRejected, invalid(op, err)
		}
		return OutcomeRetried, failure.Wrap(op, failure.Internal, err)
	}
}

// FinanceHandler is Finance as a watermill handler (for a Router, or a caller that needs no outcome).
func FinanceHandler(cmds FinanceRecorder) message.NoPublishHandlerFunc {
	handle := Finance(cmds)
	return func(msg *message.Message) error {
		_, err := handle(msg)
		return err
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

// memberRef reads how a message names its member: exactly one of a member id or a NIR (the NIR only ever in the
// payload). A refusal is the error to answer the message with.
func memberRef(op, memberID, nirText string) (uuid.UUID, nir.NIR, error) {
	switch {
	case memberID != "" && nirText == "":
		id, err := uuid.Parse(memberID)
		if err != nil || id == uuid.Nil {
			return uuid.Nil, nir.NIR{}, failure.Wrap(op, failure.Internal, failure.Field("member_id", ErrMemberRef))
		}
		return id, nir.NIR{}, nil
	case nirText != "" && memberID == "":
		n, err := nir.Parse(nirText)
		if err != nil {
			return uuid.Nil, nir.NIR{}, invalid(op, failure.Field("nir", err))
		}
		return uuid.Nil, n, nil
	}
	return uuid.Nil, nir.NIR{}, failure.Wrap(op, failure.Internal, ErrMemberRef)
}
