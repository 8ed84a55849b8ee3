// Package command is the application layer: one method of Handler per command the HTTP layer (or an operator
// command) runs, one file per command or small family of commands. A command validates its input, loads the
// streams it needs through the EventStore port, lets the aggregate decide, and appends the new events with the
// expected revision; it returns the commit position of its events, the token the caller passes back to read its
// own writes.
//
// Rules: no remote call inside an Update closure; time and ids come from the Handler's Clock and NewID; errors
// are failure sentinels (stable code, French message) wrapped with failure.Field when they are about an input
// field; nothing here logs personal data.
package command

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/nir"
)

// EventStore is the event-store port (*kurrentdb.Store implements it).
type EventStore interface {
	// Load returns a stream's events; a stream that does not exist is an empty history.
	Load(ctx context.Context, stream event.StreamID) ([]event.Envelope, error)
	// Update loads the stream, calls decide with its history and appends what decide returns with the expected
	// revision (NoStream for a new stream); a lost race is a failure.Conflict. Retried commands (same
	// Metadata.CommandID) append nothing new and return the original commit.
	Update(ctx context.Context, stream event.StreamID, cmd event.Command, decide func(history []event.Envelope) ([]any, error)) (event.Commit, error)
}

// Keys derives values from the server key (*keyedhash.Hasher implements it).
type Keys interface {
	// StreamFor derives the id of a lookup stream from a purpose and a canonical value (a NIR body, a login).
	StreamFor(purpose, canonical string) uuid.UUID
	// Digest is an HMAC of (purpose, subject, code) under the server key.
	Digest(purpose, subject, code string) []byte
}

// PasswordHasher hashes and verifies passwords (*credentials.Hasher implements it).
type PasswordHasher interface {
	Hash(ctx context.Context, password string) (string, error)
	Verify(ctx context.Context, password, encoded string) (bool, error)
	// VerifyDummy spends the time of a verification, so an unknown account answers as slowly as a known one.
	VerifyDummy(ctx context.Context, password string) error
}

// InsuredReference tells whether the fund covers a person (*insured.Reference implements it).
type InsuredReference interface {
	Match(ctx context.Context, n nir.NIR, lastName, firstName string, birthDate time.Time) (bool, error)
}

// TOTPValidator checks a staff TOTP code against a secret and returns the time step it matched; it refuses
// steps at or before lastStep (replay) (*credentials.TOTP implements it).
type TOTPValidator interface {
	Validate(secret, code string, now time.Time, lastStep int64) (int64, error)
}

// Deps are the Handler's ports.
type Deps struct {
	Store   EventStore
	Keys    Keys
	Hasher  PasswordHasher
	Insured InsuredReference
	TOTP    TOTPValidator
	Clock   func() time.Time // nil: time.Now
	NewID   func() uuid.UUID // nil: uuid.New
	// TermsVersion is the version of the conditions of use a registration accepts.
	TermsVersion string
}

// Handler runs the commands.
type Handler struct {
	Deps
}

// New returns a Handler; Store, Keys and Hasher are required.
func New(d Deps) (*Handler, error) {
	if d.Store == nil || d.Keys == nil || d.Hasher == nil {
		return nil, errors.New("command: Store, Keys and Hasher are required")
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.NewID == nil {
		d.NewID = uuid.New
	}
	if d.TermsVersion == "" {
		d.TermsVersion = "2026-11"
	}
	return &Handler{Deps: d}, nil
}

// Meta is who runs a command and under which ids; the HTTP layer fills it from the session and the request.
type Meta struct {
	Actor         event.Actor
	CorrelationID uuid.UUID // the request id
	// CommandID is the idempotency key: the client's Idempotency-Key header when given (a retry then appends
	// nothing new), a fresh id otherwise.
	CommandID uuid.UUID
}

// Result is what every command returns at least: the commit position of its events (0 when it appended
// nothing), for read-your-writes.
type Result struct {
	Position uint64
	// Revision is, for the commands on one service request (the case commands, the member's submission, withdrawal
	// and answer, the lapse), the request stream's revision after the command: the case's new ETag, so a caseworker
	// can chain changes with If-Match without reading the case again. It is the stream's current revision when the
	// command changed nothing, and the original one for a retried command. Other commands leave it 0.
	Revision uint64
}

// command returns the event.Command for one stream of a command. Commands that append to several streams
// derive one command id per stream (uuid.NewSHA1(CommandID, stream)) so each append is idempotent on its own.
func (h *Handler) command(m Meta, stream event.StreamID) event.Command {
	id := m.CommandID
	if id == uuid.Nil {
		id = h.NewID()
	}
	corr := m.CorrelationID
	if corr == uuid.Nil {
		corr = id
	}
	return event.Command{Metadata: event.Metadata{
		CorrelationID: corr,
		CausationID:   id,
		CommandID:     uuid.NewSHA1(id, []byte(stream.String())),
		Actor:         m.Actor,
		OccurredAt:    h.Clock().UTC(),
	}}
}
