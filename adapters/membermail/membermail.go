// Package membermail sends the mails of the member journeys: the activation code of a registration, the code that
// confirms a new email address, and the code of a forgotten-password procedure. Each is a watermill reaction
// (adapters/messaging) to the event that issued the code, fed by the event store's global log, never by the
// command that appended it. RegisterNotices adds the security notices, which carry no code: a lock after repeated
// wrong passwords (the login answers it like any failed login, so the owner learns it here), an email change (to the
// old address), a password change or reset (see notices.go).
//
// # Exactly once
//
// A reaction sees an event at least once. Each mail goes through messaging.OnceExternal: sent, then recorded as
// processed, so a later delivery (a restart, a Nack) sends nothing. The window between the two (a crash after
// the relay accepted the mail) is closed by the Message-ID, built from messaging.EffectKey(handler, event id): a
// repeat carries the same Message-ID and the same Date (the event's business time), so the outbox replaces its file
// (named after the Message-ID) and a receiving system can drop the copy.
//
// # Codes
//
// Events never hold a code (only its sequence number and expiry): the reaction recomputes it with the injected
// CodeDeriver, which cmd builds on the server key (the same derivation domain/command uses to verify it). A code
// that has expired by the time its event is handled (the relay was down for long, or a backlog) is not mailed: the
// member asks for a new one.
//
// # Failures
//
// A relay that is down, slow or answers 4xx is a mail.ErrUnavailable (failure.Unavailable): the router delivers the
// event again with back-off until the relay takes the mail, without poisoning it. A permanent refusal (5xx for the
// recipient or the message) and an event whose recipient cannot be found are failure.Invalid: poison, visible in
// `dossier reactions poison`. The event store out of reach is Unavailable too.
//
// # History
//
// The handlers are added with messaging.SkipHistory: on their very first start they begin at the head of the log,
// so that deploying them on a system that already holds code events (or starting over with an empty reactions
// database) never mails old codes. Once a handler has a checkpoint it resumes from it and misses nothing. Since the
// starting point is fixed when the handler first catches up with the log, a fresh installation should not take
// registrations before Started reports true (a matter of milliseconds on an empty log). Independently of that,
// expired codes are never mailed.
//
// # Personal data
//
// Addresses, names and codes are never logged: logs carry the handler, the stream, the event id and the
// Message-ID only.
package membermail

import (
	"context"
	"fmt"
	"log/slog"
	"time"
	_ "time/tzdata" // Europe/Paris must resolve on a host without a zoneinfo database

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/registration"
)

// Handler names: the reactions' permanent identities (checkpoint, processed keys, poison rows, lease). Never
// rename one: a renamed handler is a new consumer.
const (
	ActivationHandler  = "mail.activation-code"
	EmailChangeHandler = "mail.email-change-code"
	ResetHandler       = "mail.password-reset-code"
)

// Handlers returns the names of the handlers Register adds.
func Handlers() []string { return []string{ActivationHandler, EmailChangeHandler, ResetHandler} }

// Code kinds given to the CodeDeriver, with the subject each code is bound to.
const (
	// KindActivation: the activation code of a registration; subject: the registration id.
	KindActivation = "activation"
	// KindEmailChange: the code confirming a new email address; subject: the member id.
	KindEmailChange = "email-change"
	// KindPasswordReset: the code of a forgotten-password procedure; subject: the reset id (passwordreset stream).
	KindPasswordReset = "password-reset"
)

// CodeDeriver recomputes the one-time code of kind for subjectID and sequence (the event's Sequence), exactly as
// the command that verifies it does (domain/command, under the server key). It must be deterministic.
type CodeDeriver func(kind string, subjectID uuid.UUID, sequence int) string

// EventLoader reads a stream's history (*kurrentdb.Store implements it).
type EventLoader interface {
	Load(ctx context.Context, stream event.StreamID) ([]event.Envelope, error)
}

// ErrNoRecipient is an event whose recipient cannot be found: a CodeIssued whose registration has no Started
// event, a ResetRequested whose member has no Registered event. Retrying cannot help: the event is poison.
var ErrNoRecipient = failure.New(failure.Invalid, "membermail.no_recipient", "no recipient for this code mail")

// Deps are what the reactions need.
type Deps struct {
	// DB holds the processed-event keys (messaging.OnceExternal); required.
	DB *sqldb.DB
	// Store loads the registration and member streams, to find the recipient; required.
	Store EventLoader
	// Sender sends the mails (mail.SMTP or mail.Outbox); required.
	Sender mail.Sender
	// Code recomputes the codes; required.
	Code CodeDeriver
	// From is the author of the mails and gives the Message-ID its domain. Empty: the sender's configured From,
	// and mail.DefaultMessageIDDomain in Message-IDs.
	From string
	// Now is the clock that decides whether a code has expired before its mail could go; nil: time.Now.
	Now func() time.Time
	// Logger receives the reactions' logs (no personal data); nil discards them.
	Logger *slog.Logger
}

// Validate reports every missing dependency at once.
func (d Deps) Validate() error {
	return depcheck.New("membermail:").Require("DB", d.DB).Require("Store", d.Store).Require("Sender", d.Sender).
		Require("Code", d.Code).Err()
}

// Register adds the three mail reactions to router, each starting at the head of the log on its first start (see
// the package documentation). Call it before router.Run.
func Register(router *messaging.Router, deps Deps) error {
	r, err := newReactions(deps)
	if err != nil {
		return err
	}
	for _, h := range []struct {
		name string
		fn   message.NoPublishHandlerFunc
		typ  string // the one event type it acts on
	}{
		{ActivationHandler, r.activation, registration.TypeCodeIssued},
		{EmailChangeHandler, r.emailChange, member.TypeEmailChangeRequested},
		{ResetHandler, r.reset, member.TypeResetRequested},
	} {
		if err := router.AddHandler(h.name, h.fn, messaging.SkipHistory(), messaging.Handles(h.typ)); err != nil {
			return fmt.Errorf("membermail: add %s: %w", h.name, err)
		}
	}
	return nil
}

type reactions struct {
	Deps
	// paris is the time zone of the expiry times the mails give ("heure de Paris").
	paris *time.Location
}

func newReactions(d Deps) (*reactions, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return newReactionsUnchecked(d)
}

// newReactionsUnchecked completes d (clock, logger, time zone); its caller has checked what it needs of d.
func newReactionsUnchecked(d Deps) (*reactions, error) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return nil, fmt.Errorf("membermail: time zone: %w", err) // unreachable with time/tzdata linked in
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &reactions{Deps: d, paris: paris}, nil
}

// decode returns the event of msg if it is of type typ, or ok false for any other event (the common case: every
// event of the log comes by). The type is checked on the metadata first, so other events are not even decoded.
func decode[T any](msg *message.Message, typ string) (event.Envelope, T, bool, error) {
	var zero T
	if msg.Metadata.Get(messaging.MetaEventType) != typ {
		return event.Envelope{}, zero, false, nil
	}
	env, err := messaging.Envelope(msg)
	if err != nil {
		return event.Envelope{}, zero, false, err
	}
	ev, ok := env.Event.(T)
	return env, ev, ok, nil
}

func (r *reactions) activation(msg *message.Message) error {
	env, ev, ok, err := decode[registration.CodeIssued](msg, registration.TypeCodeIssued)
	if err != nil || !ok {
		return err
	}
	return r.send(msg.Context(), ActivationHandler, env, ev.ExpiresAt, func(ctx context.Context) (mail.Message, error) {
		history, err := r.Store.Load(ctx, env.Stream)
		if err != nil {
			return mail.Message{}, err
		}
		for _, e := range history {
			if started, ok := e.Event.(registration.Started); ok {
				code := r.Code(KindActivation, env.Stream.ID, ev.Sequence)
				return r.message(started.Email, activationText, code, ev.ExpiresAt)
			}
		}
		return mail.Message{}, fmt.Errorf("membermail: %s has no %s: %w", env.Stream, registration.TypeStarted, ErrNoRecipient)
	})
}

func (r *reactions) emailChange(msg *message.Message) error {
	env, ev, ok, err := decode[member.EmailChangeRequested](msg, member.TypeEmailChangeRequested)
	if err != nil || !ok {
		return err
	}
	return r.send(msg.Context(), EmailChangeHandler, env, ev.ExpiresAt, func(context.Context) (mail.Message, error) {
		code := r.Code(KindEmailChange, env.Stream.ID, ev.Sequence)
		return r.message(ev.NewEmail, emailChangeText, code, ev.ExpiresAt)
	})
}

func (r *reactions) reset(msg *message.Message) error {
	env, ev, ok, err := decode[member.ResetRequested](msg, member.TypeResetRequested)
	if err != nil || !ok {
		return err
	}
	return r.send(msg.Context(), ResetHandler, env, ev.ExpiresAt, func(ctx context.Context) (mail.Message, error) {
		stream := event.NewStreamID(member.Category, ev.MemberID)
		history, err := r.Store.Load(ctx, stream)
		if err != nil {
			return mail.Message{}, err
		}
		// The member's email when the reset was asked for: events committed after it do not count, so that a
		// repeat of this mail goes where the first copy went.
		to := member.EmailAsOf(history, env.Position)
		if to == "" || to == event.ErasedText {
			return mail.Message{}, fmt.Errorf("membermail: %s has no %s: %w", stream, member.TypeRegistered, ErrNoRecipient)
		}
		code := r.Code(KindPasswordReset, env.Stream.ID, ev.Sequence)
		return r.message(to, resetText, code, ev.ExpiresAt)
	})
}

// send mails what build returns, once, unless the code has expired. build runs only when the mail is still to send.
func (r *reactions) send(ctx context.Context, handler string, env event.Envelope, expiresAt time.Time,
	build func(ctx context.Context) (mail.Message, error)) error {
	log := r.Logger.With("handler", handler, "stream", env.Stream.String(), "event_id", env.EventID.String(),
		"position", env.Position)
	if !r.Now().Before(expiresAt) {
		log.Warn("membermail: code expired before its mail could be sent; not sending it")
		return nil
	}
	id, err := messaging.MailOnce(ctx, r.DB, handler, env, r.Sender, r.From, "membermail: send", build)
	if id != "" {
		log.Info("membermail: mail sent", "message_id", id)
	}
	return err
}
