// Package casework runs the reactions of case management (adapters/messaging), fed by the event store's global log,
// never by the command that appended the events:
//
//   - AcknowledgementHandler mails the member the acknowledgement of receipt (accusé de réception, CRPA L112-3 and
//     R112-5) of each service request: reference, date of receipt, handling time, the day silence becomes a
//     decision and what it then means, and the appeal routes;
//   - InformationRequestHandler mails the member each request for information or pieces: what is asked, by when,
//     what a silence then does (CRPA L114-5: the period restarts on receipt under acceptance, is suspended for the
//     time used under rejection) and the service in charge; once, like the acknowledgement (SkipHistory);
//   - DeadlinesHandler keeps a durable table of the information deadlines still pending, and the Scheduler closes
//     the requests whose deadline has lapsed by calling a port (cmd wires it to the LapseInformationDeadline
//     command). The table and the handler's checkpoint are in the reactions' database, so nothing is missed across
//     restarts.
//
// # Wiring
//
//	if err := messaging.Migrate(ctx, db); err != nil { ... }
//	if err := casework.Migrate(ctx, db); err != nil { ... }
//	err := casework.Register(router, casework.Deps{DB: db, Store: store, Sender: sender, From: from, Logger: logger})
//	scheduler := casework.NewScheduler(casework.SchedulerDeps{DB: db, Lapse: lapse, Logger: logger})
//	go router.Run(ctx)
//	go scheduler.Run(ctx)
//
// # The acknowledgement mail: at least once, with a stable Message-ID
//
// A reaction sees an event at least once. The mail goes through messaging.OnceExternal: sent, then recorded as
// processed, so a later delivery (a restart, a Nack) sends nothing. The window between the two (a crash after the
// relay accepted the mail, the only case that sends twice) is covered by the Message-ID, built from messaging.EffectKey(handler, event id), and the
// Date, the event's business time: a repeat is the first copy byte for byte, the outbox replaces its file and a
// receiving system can drop the copy. The recipient is the member's email as it stood when the request was
// acknowledged (events of the member stream committed after the acknowledgement are ignored), so that a repeat goes
// where the first copy went.
//
// The handler is added with messaging.SkipHistory: on its very first start it begins at the head of the log, so
// deploying it on a system that already holds requests (or starting over with an empty reactions database) never
// mails old acknowledgements; members saw those in the portal. Once it has a checkpoint it resumes from it and
// misses nothing. A fresh installation should not take requests before Started reports true (a matter of
// milliseconds on an empty log).
//
// # Information deadlines
//
// DeadlinesHandler starts from the beginning of the log (no SkipHistory): the table is derived from the events, so
// a first start on a running system finds every deadline already pending. InformationRequested inserts (or
// replaces) the request's row; InformationReceived, InformationDeadlineLapsed, Decided, Withdrawn and Closed delete
// it; each change commits in the same transaction as the event's processed key (messaging.Once). See Scheduler for
// how rows are lapsed: the Scheduler never deletes a row itself, the InformationDeadlineLapsed event its command
// appends does, when it comes back through the log.
//
// # Failures
//
// A relay that is down, slow or answers 4xx is a mail.ErrUnavailable: the router delivers the event again with
// back-off until the relay takes the mail. A permanent refusal and an acknowledgement whose recipient cannot be
// found (ErrNoRecipient) or whose dates cannot be read (ErrAcknowledgementInvalid) are failure.Invalid: poison,
// visible in `dossier reactions poison`.
//
// # Personal data
//
// Addresses and mail contents are never logged: logs carry the handler, the stream, the event id, positions and
// the Message-ID only. A request's reference is not logged either.
package casework

import (
	"context"
	"errors"
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
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// Handler names: the reactions' permanent identities (checkpoint, processed keys, poison rows, lease). Never rename
// one: a renamed handler is a new consumer.
const (
	// AcknowledgementHandler mails the acknowledgement of receipt of each request.
	AcknowledgementHandler = "mail.request-acknowledgement"
	// DeadlinesHandler keeps the table of pending information deadlines.
	DeadlinesHandler = "casework.information-deadlines"
	// InformationRequestHandler mails the member each request for information, with what it does to the periods
	// (CRPA L114-5).
	InformationRequestHandler = "mail.information-request"
)

// Handlers returns the names of the handlers Register adds.
func Handlers() []string {
	return []string{AcknowledgementHandler, DeadlinesHandler, InformationRequestHandler}
}

// EventLoader reads a stream's history (*kurrentdb.Store implements it).
type EventLoader interface {
	Load(ctx context.Context, stream event.StreamID) ([]event.Envelope, error)
}

var (
	// ErrNoRecipient is an acknowledgement whose recipient cannot be found: a request stream without Submitted,
	// a member stream without Registered. Retrying cannot help: the event is poison.
	ErrNoRecipient = failure.New(failure.Invalid, "casework.no_recipient", "no recipient for this acknowledgement")
	// ErrAcknowledgementInvalid is an acknowledgement whose dates or silence rule cannot be read.
	ErrAcknowledgementInvalid = failure.New(failure.Invalid, "casework.acknowledgement_invalid",
		"acknowledgement cannot be rendered")
)

// Deps are what the reactions need.
type Deps struct {
	// DB holds the processed-event keys and the deadlines table (see Migrate); required.
	DB *sqldb.DB
	// Store loads the request and member streams, to find the recipient; required.
	Store EventLoader
	// Sender sends the mails (mail.SMTP or mail.Outbox); required.
	Sender mail.Sender
	// From is the author of the mails and gives the Message-ID its domain. Empty: the sender's configured From,
	// and mail.DefaultMessageIDDomain in Message-IDs.
	From string
	// Logger receives the reactions' logs (no personal data); nil discards them.
	Logger *slog.Logger
}

// Validate reports every missing dependency at once.
func (d Deps) Validate() error {
	return depcheck.New("casework:").Require("DB", d.DB).Require("Store", d.Store).Require("Sender", d.Sender).Err()
}

// Register adds the acknowledgement mail reaction (starting at the head of the log on its first start) and the
// information-deadlines reaction (starting at the beginning of the log) to router. Call it before router.Run, and
// Migrate before that.
func Register(router *messaging.Router, deps Deps) error {
	if err := deps.Validate(); err != nil {
		return err
	}
	if router == nil {
		return errors.New("casework: router is required")
	}
	paris, err := time.LoadLocation(defaultZone)
	if err != nil {
		return fmt.Errorf("casework: time zone: %w", err) // unreachable with time/tzdata linked in
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	r := &reactions{Deps: deps, paris: paris}
	if err := router.AddHandler(AcknowledgementHandler, r.acknowledgement, messaging.SkipHistory(),
		messaging.Handles(servicerequest.TypeAcknowledged)); err != nil {
		return fmt.Errorf("casework: add %s: %w", AcknowledgementHandler, err)
	}
	if err := router.AddHandler(DeadlinesHandler, r.deadlines); err != nil {
		return fmt.Errorf("casework: add %s: %w", DeadlinesHandler, err)
	}
	if err := router.AddHandler(InformationRequestHandler, r.information, messaging.SkipHistory(),
		messaging.Handles(servicerequest.TypeInformationRequested)); err != nil {
		return fmt.Errorf("casework: add %s: %w", InformationRequestHandler, err)
	}
	return nil
}

type reactions struct {
	Deps
	// paris is the calendar of an acknowledgement whose time zone is missing or unknown.
	paris *time.Location
}

// acknowledgement mails the acknowledgement of receipt of a request, once.
func (r *reactions) acknowledgement(msg *message.Message) error {
	if msg.Metadata.Get(messaging.MetaEventType) != servicerequest.TypeAcknowledged {
		return nil // the common case: every event of the log comes by, and is not even decoded
	}
	env, err := messaging.Envelope(msg)
	if err != nil {
		return err
	}
	ack, ok := env.Event.(servicerequest.Acknowledged)
	if !ok {
		return nil
	}
	log := r.Logger.With("handler", AcknowledgementHandler, "stream", env.Stream.String(),
		"event_id", env.EventID.String(), "position", env.Position)
	id, err := messaging.MailOnce(msg.Context(), r.DB, AcknowledgementHandler, env, r.Sender, r.From,
		"casework: send acknowledgement", func(ctx context.Context) (mail.Message, error) {
			to, err := r.recipient(ctx, env)
			if err != nil {
				return mail.Message{}, err
			}
			m, err := acknowledgementMessage(ack, r.paris)
			if err != nil {
				return mail.Message{}, err
			}
			m.From, m.To = r.From, to
			return m, nil
		})
	if id != "" {
		log.Info("casework: acknowledgement mail sent", "message_id", id)
	}
	return err
}

// recipient returns the email of the member who submitted the request of env, as it stood when env was committed.
func (r *reactions) recipient(ctx context.Context, env event.Envelope) (string, error) {
	history, err := r.Store.Load(ctx, env.Stream)
	if err != nil {
		return "", fmt.Errorf("casework: load %s: %w", env.Stream, err)
	}
	memberID := uuid.Nil
	for _, e := range history {
		if s, ok := e.Event.(servicerequest.Submitted); ok {
			memberID = s.MemberID
			break
		}
	}
	if memberID == uuid.Nil {
		return "", fmt.Errorf("casework: %s has no %s: %w", env.Stream, servicerequest.TypeSubmitted, ErrNoRecipient)
	}
	stream := event.NewStreamID(member.Category, memberID)
	history, err = r.Store.Load(ctx, stream)
	if err != nil {
		return "", fmt.Errorf("casework: load %s: %w", stream, err)
	}
	to := member.EmailAsOf(history, env.Position)
	if to == "" || to == event.ErasedText {
		return "", fmt.Errorf("casework: %s has no %s: %w", stream, member.TypeRegistered, ErrNoRecipient)
	}
	return to, nil
}
