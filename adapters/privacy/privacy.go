// Package privacy runs the reactions that make erasure real (adapters/messaging), fed by the event store's global
// log:
//
//   - EraseKeysHandler destroys the data keys of the subjects of each member.DataErased (the erase-member command
//     records the event; this reaction does the rest): from then on every personal field sealed under those keys
//     reads event.ErasedText, in aggregates, projections, rebuilds and audits alike;
//   - RetentionHandler keeps a durable table of the erasures the retention rules (Rules) have due, and the
//     RetentionScheduler destroys the keys of the subjects whose retention has ended.
//
// # Wiring
//
//	if err := messaging.Migrate(ctx, db); err != nil { ... }
//	if err := privacy.Migrate(ctx, db); err != nil { ... }
//	err := privacy.Register(router, privacy.Deps{DB: db, Keys: keyStore, Logger: logger})
//	scheduler := privacy.NewRetentionScheduler(privacy.SchedulerDeps{DB: db, Keys: keyStore, Logger: logger})
//	go router.Run(ctx)
//	go scheduler.Run(ctx)
//
// keyStore is the key store (*keystore.Store implements KeyEraser).
//
// # Failures
//
// Destroying a key is idempotent (the key store leaves a tombstone), so a repeat after a crash is harmless: the
// reaction uses messaging.OnceExternal. Any failure of the key store is failure.Unavailable: the router delivers the
// event again with back-off until the store answers, and never gives up on it (no poison for an unavailable key
// store); a DataErased that cannot be decoded is poison as any other. The scheduler leaves a row due until its key
// is destroyed, and tries again at the next tick.
//
// # Personal data
//
// Nothing personal is ever read or logged here: the events handled carry ids, reasons and tickets only, and logs
// carry the handler, the stream, the event id and the subjects' ids.
package privacy

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
)

// Handler names: the reactions' permanent identities (checkpoint, processed keys, poison rows, lease). Never rename
// one: a renamed handler is a new consumer.
const (
	// EraseKeysHandler destroys the data keys of the subjects of each member.DataErased.
	EraseKeysHandler = "privacy.erase-keys"
	// RetentionHandler keeps the table of the erasures the retention rules have due.
	RetentionHandler = "privacy.retention-due"
)

// Handlers returns the names of the handlers Register adds.
func Handlers() []string { return []string{EraseKeysHandler, RetentionHandler} }

// Owner is the name under which the privacy tables are migrated (sqldb.DB.Migrate).
const Owner = "privacy"

//go:embed migrations/*.sql
var migrationFiles embed.FS

var migrations = sqldb.NewMigrations(Owner, migrationFiles)

// Migrations returns the goose migrations of the privacy tables (privacy_retention_due).
func Migrations() fs.FS { return migrations.FS }

// Migrate creates or upgrades the privacy tables. Run it, with messaging.Migrate, before starting the router and
// the RetentionScheduler; it is safe from several replicas at once.
func Migrate(ctx context.Context, db *sqldb.DB) error { return migrations.Apply(ctx, db) }

// KeyEraser destroys data keys (*keystore.Store implements it). Erase is idempotent: erasing a subject already
// erased, or one that never had a key, succeeds.
type KeyEraser interface {
	Erase(ctx context.Context, subjects ...uuid.UUID) error
}

// Deps are what the reactions need.
type Deps struct {
	// DB holds the processed-event keys and the retention table (see Migrate); required.
	DB *sqldb.DB
	// Keys destroys the data keys; required.
	Keys KeyEraser
	// Rules are the retention rules; nil: Rules.
	Rules []Rule
	// Logger receives the reactions' logs (ids only); nil discards them.
	Logger *slog.Logger
}

// Validate reports every missing dependency at once.
func (d Deps) Validate() error {
	return depcheck.New("privacy:").Require("DB", d.DB).Require("Keys", d.Keys).Err()
}

// Register adds the key-destroying reaction and the retention reaction to router, both starting at the beginning
// of the log (an erasure recorded before the reaction was deployed is carried out too; destroying a key twice is
// harmless). Call it before router.Run, and Migrate before that.
func Register(router *messaging.Router, deps Deps) error {
	if err := deps.Validate(); err != nil {
		return err
	}
	if router == nil {
		return errors.New("privacy: router is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Rules == nil {
		deps.Rules = Rules
	}
	r := &reactions{Deps: deps}
	if err := router.AddHandler(EraseKeysHandler, r.eraseKeys, messaging.Handles(member.TypeDataErased)); err != nil {
		return fmt.Errorf("privacy: add %s: %w", EraseKeysHandler, err)
	}
	if err := router.AddHandler(RetentionHandler, r.retention); err != nil {
		return fmt.Errorf("privacy: add %s: %w", RetentionHandler, err)
	}
	return nil
}

type reactions struct {
	Deps
}

// eraseKeys destroys the keys of a DataErased's subjects.
func (r *reactions) eraseKeys(msg *message.Message) error {
	// Only member streams hold DataErased; the stream is checked before decoding, so other events cost nothing.
	if !strings.HasPrefix(msg.Metadata.Get(messaging.MetaStream), member.Category+"-") ||
		msg.Metadata.Get(messaging.MetaEventType) != member.TypeDataErased {
		return nil
	}
	env, err := messaging.Envelope(msg)
	if err != nil {
		return err
	}
	e, ok := env.Event.(member.DataErased)
	if !ok {
		return nil
	}
	ctx := msg.Context()
	ran, err := messaging.OnceExternal(ctx, r.DB, EraseKeysHandler, env.EventID, func(ctx context.Context, _ uuid.UUID) error {
		return erase(ctx, r.Keys, e.Subjects...)
	})
	if err != nil {
		return fmt.Errorf("privacy: erase the keys of %s: %w", env.Stream, err)
	}
	if ran {
		r.Logger.Info("privacy: data keys destroyed", "handler", EraseKeysHandler, "stream", env.Stream.String(),
			"event_id", env.EventID.String(), "subjects", subjectList(e.Subjects), "reason", e.Reason)
	}
	return nil
}

// erase calls the key store; any failure but a refusal of the input is failure.Unavailable, so that the router
// delivers the event again rather than give up on it.
func erase(ctx context.Context, keys KeyEraser, subjects ...uuid.UUID) error {
	err := keys.Erase(ctx, subjects...)
	switch k := failure.KindOf(err); {
	case err == nil:
		return nil
	case k == failure.Invalid || k == failure.Rule:
		return err
	default:
		return failure.Wrap("privacy.erase", failure.Unavailable, err)
	}
}

func subjectList(ids []uuid.UUID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ",")
}
