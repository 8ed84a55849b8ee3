package integration

import (
	"context"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/member"
)

// DeliveryHandler is the name of the reaction that delivers parked facts when an account opens: its permanent
// identity (checkpoint, poison rows, lease, effect keys). Never rename it.
const DeliveryHandler = "finance.parked-delivery"

// ParkedDeliverer delivers the facts parked for a member's NIR; *command.Finance implements it.
type ParkedDeliverer interface {
	DeliverParkedFinanceFacts(ctx context.Context, m command.Meta, memberID uuid.UUID) (command.ParkedDelivery, error)
}

// RegisterDelivery adds the DeliveryHandler reaction to router (before router.Run). It follows the whole log from
// its first start (no SkipHistory): an account opened before the reaction existed still gets the facts parked for
// it, and a member without parked facts costs two stream reads.
func RegisterDelivery(router *messaging.Router, d ParkedDeliverer, logger *slog.Logger) error {
	return router.AddHandler(DeliveryHandler, DeliveryReaction(d, logger), messaging.Handles(member.TypeRegistered))
}

// DeliveryReaction is the reaction itself: on member.Registered (an account opened), it calls
// DeliverParkedFinanceFacts for the member, with messaging.CommandMetadata (actor "reactions/finance.parked-delivery",
// caused by the Registered event). Delivery is idempotent on the event store's side (facts recorded with derived
// event ids, then marked delivered on the parked stream), so a redelivered event delivers nothing twice. Errors keep
// their kind: the event store out of reach is Unavailable (the event comes again), nothing else is expected. Logs
// hold the member's stream, event ids and counts, never a NIR or a fact.
func DeliveryReaction(d ParkedDeliverer, logger *slog.Logger) message.NoPublishHandlerFunc {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(msg *message.Message) error {
		if msg.Metadata.Get(messaging.MetaEventType) != member.TypeRegistered {
			return nil // the common case: every event of the log comes by, and is not even decoded
		}
		env, err := messaging.Envelope(msg)
		if err != nil {
			return err
		}
		if _, ok := env.Event.(member.Registered); !ok || env.Stream.Category != member.Category {
			return nil
		}
		md := messaging.CommandMetadata(DeliveryHandler, env, time.Now().UTC())
		res, err := d.DeliverParkedFinanceFacts(msg.Context(), command.Meta{Actor: md.Actor,
			CorrelationID: md.CorrelationID, CommandID: md.CommandID}, env.Stream.ID)
		if err != nil {
			return err
		}
		if res.Delivered > 0 || res.Refused > 0 {
			logger.Info("parked finance facts delivered", "handler", DeliveryHandler, "stream", env.Stream.String(),
				"event_id", env.EventID.String(), "delivered", res.Delivered, "refused", res.Refused)
		}
		return nil
	}
}
