package letters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/inbox"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

// Handler names: the reactions' permanent identities (checkpoint, processed keys, poison rows, lease). Never rename.
const (
	DecisionLetterHandler     = "inbox.decision-letter"
	PaymentAttestationHandler = "inbox.payment-attestation"
)

// Handlers returns the names of the handlers Register adds.
func Handlers() []string { return []string{DecisionLetterHandler, PaymentAttestationHandler} }

// EventLoader reads a stream's history (*kurrentdb.Store implements it).
type EventLoader interface {
	Load(ctx context.Context, stream event.StreamID) ([]event.Envelope, error)
}

// Publisher publishes a document into a member's inbox (*command.Inbox implements it).
type Publisher interface {
	Publish(ctx context.Context, m command.Meta, in command.PublishInput) (command.PublishResult, error)
}

// Deps are what the publishing reactions need.
type Deps struct {
	Store     EventLoader
	Publisher Publisher
	Fund      Fund // the fund's name (the service in charge of a request signs its letter)
	Now       func() time.Time
	Logger    *slog.Logger
}

// Register adds the two publishing reactions to router. They are NOT added with SkipHistory: on their first start
// they go through the whole log, so every decision ever taken gets its letter and every attestation asked its PDF;
// each is published once, whatever the redeliveries, because the document's id derives from its source
// (command.InboxDocumentID) and Publish records nothing for a document already in the inbox. A letter of a decision
// taken before this reaction existed is made available when it is published, and notified from then.
func Register(router *messaging.Router, d Deps) error {
	if err := depcheck.New("letters:").Require("Store", d.Store).Require("Publisher", d.Publisher).Err(); err != nil {
		return err
	}
	if router == nil {
		return errors.New("letters: router is required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Fund.Name == "" {
		d.Fund.Name = "Mutualité sociale agricole (MSA)"
	}
	r := &reactions{Deps: d}
	if err := router.AddHandler(DecisionLetterHandler, r.decisionLetter, messaging.Handles(sr.TypeDecided)); err != nil {
		return fmt.Errorf("letters: add %s: %w", DecisionLetterHandler, err)
	}
	if err := router.AddHandler(PaymentAttestationHandler, r.paymentAttestation, messaging.Handles(consultation.TypeAttestationIssued)); err != nil {
		return fmt.Errorf("letters: add %s: %w", PaymentAttestationHandler, err)
	}
	return nil
}

type reactions struct{ Deps }

// upTo folds history up to env (included): the state the event left.
func upTo(history []event.Envelope, env event.Envelope) []event.Envelope {
	for i, e := range history {
		if e.EventID == env.EventID {
			return history[:i+1]
		}
	}
	return history
}

func (r *reactions) decisionLetter(msg *message.Message) error {
	if msg.Metadata.Get(messaging.MetaEventType) != sr.TypeDecided {
		return nil
	}
	env, err := messaging.Envelope(msg)
	if err != nil {
		return err
	}
	if _, ok := env.Event.(sr.Decided); !ok || env.Stream.Category != sr.Category {
		return nil
	}
	ctx := msg.Context()
	history, err := r.Store.Load(ctx, env.Stream)
	if err != nil {
		return fmt.Errorf("letters: load %s: %w", env.Stream, err)
	}
	var st sr.State
	var ack sr.Acknowledged
	for _, e := range upTo(history, env) {
		st, _ = st.Apply(e.Event)
		if a, ok := e.Event.(sr.Acknowledged); ok {
			ack = a
		}
	}
	if !st.Decided || st.MemberID == uuid.Nil {
		return fmt.Errorf("letters: %s has no decision: %w", env.Stream, errNoSource)
	}
	label := st.ServiceCode
	var routes []string
	if c, err := catalog.Load(st.CatalogVersion); err == nil {
		if svc, err := c.Lookup(st.ServiceCode); err == nil {
			label, routes = svc.Label, svc.AppealRoutes
		}
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	now := r.Now().UTC()
	fund := r.Fund
	if ack.ServiceInCharge.Name != "" {
		fund.Service, fund.Address = ack.ServiceInCharge.Name, ack.ServiceInCharge.Address
	}
	dec := st.Decision
	pdf, err := DecisionLetter(Decision{Fund: fund, Reference: st.Reference, Service: label, ReceivedAt: ack.ReceivedAt,
		DecidedAt: env.Metadata.OccurredAt, Approved: dec.Decision == sr.Approved, Reason: dec.Reason,
		RuleApplied: dec.RuleApplied, CatalogVersion: dec.CatalogVersion, AuthorName: dec.AuthorName,
		AuthorPosition: dec.AuthorPosition, AppealRoutes: routes, AppealMonths: sr.AppealPeriod.Count,
		DeemedDays:     int(inbox.DeemedAfter / (24 * time.Hour)),
		LatestAppealOn: sr.AppealDeadline(inbox.DeemedAt(now), paris)})
	if err != nil {
		return err
	}
	return r.publish(ctx, env, command.PublishInput{MemberID: st.MemberID,
		DocumentID: command.InboxDocumentID(inbox.KindDecisionLetter, env.Stream.ID), Kind: inbox.KindDecisionLetter,
		SourceID: env.Stream.ID, Title: "Décision sur votre demande " + st.Reference,
		FileName: "decision-" + st.Reference + ".pdf", ContentType: "application/pdf", Content: pdf})
}

func (r *reactions) paymentAttestation(msg *message.Message) error {
	if msg.Metadata.Get(messaging.MetaEventType) != consultation.TypeAttestationIssued {
		return nil
	}
	env, err := messaging.Envelope(msg)
	if err != nil {
		return err
	}
	att, ok := env.Event.(consultation.PaymentAttestationIssued)
	if !ok || env.Stream.Category != consultation.Category {
		return nil
	}
	ctx := msg.Context()
	history, err := r.Store.Load(ctx, env.Stream)
	if err != nil {
		return fmt.Errorf("letters: load %s: %w", env.Stream, err)
	}
	seen := map[string]bool{}
	var pays []Payment
	year := fmt.Sprint(att.Year) + "-"
	for _, e := range upTo(history, env) {
		p, ok := e.Event.(consultation.PaymentRecorded)
		if !ok || seen[p.PaymentID] || !strings.HasPrefix(p.PaidOn, year) ||
			(len(att.Kinds) > 0 && !slices.Contains(att.Kinds, p.Kind)) {
			continue
		}
		seen[p.PaymentID] = true
		pays = append(pays, Payment{PaidOn: p.PaidOn, Label: p.Label, AmountCents: p.AmountCents})
	}
	slices.SortStableFunc(pays, func(a, b Payment) int { return strings.Compare(a.PaidOn, b.PaidOn) })
	pdf, err := PaymentAttestation(Attestation{Fund: r.Fund, Year: att.Year, AsOf: env.Metadata.OccurredAt, Payments: pays})
	if err != nil {
		return err
	}
	return r.publish(ctx, env, command.PublishInput{MemberID: env.Stream.ID,
		DocumentID: command.InboxDocumentID(inbox.KindPaymentAttestation, att.AttestationID),
		Kind:       inbox.KindPaymentAttestation, SourceID: att.AttestationID,
		Title:    fmt.Sprintf("Attestation de paiements %d", att.Year),
		FileName: fmt.Sprintf("attestation-paiements-%d.pdf", att.Year), ContentType: "application/pdf", Content: pdf})
}

var errNoSource = errors.New("no source for the document")

func (r *reactions) publish(ctx context.Context, env event.Envelope, in command.PublishInput) error {
	res, err := r.Publisher.Publish(ctx, command.Meta{CorrelationID: env.Metadata.CorrelationID}, in)
	if errors.Is(err, event.ErrErased) {
		r.Logger.Info("letters: member erased; nothing published", "event_id", env.EventID.String())
		return nil
	}
	if err != nil {
		return fmt.Errorf("letters: publish %s: %w", in.Kind, err)
	}
	if res.Published {
		r.Logger.Info("letters: document published", "kind", in.Kind, "document_id", res.DocumentID.String(),
			"event_id", env.EventID.String())
	}
	return nil
}
