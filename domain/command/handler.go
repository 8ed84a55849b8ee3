// Package command is the application layer: one handler type per aggregate or small family of them (Members,
// Staff, Cases, Finance, Estimates), each built with only the ports its commands use, and one method per command
// the HTTP layer (or an operator command) runs, one file per command or small family of commands. A command
// validates its input, loads the streams it needs through the EventStore port, lets the aggregate decide, and
// appends the new events with the expected revision; it returns the commit position of its events, the token the
// caller passes back to read its own writes.
//
// Rules: no remote call inside an Update closure; time and ids come from the Runtime's Clock and NewID; errors
// are failure sentinels (a stable code and English text; the French sentence people see is in domain/messages),
// wrapped with failure.Field when they are about an input field, and with failure.Op naming the command; nothing
// here logs personal data.
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
	// Metadata.CommandID) append nothing new and return the original commit, or event.ErrRequestReused when their
	// Metadata.RequestHash differs from the recorded one (Metadata.CheckReplay).
	Update(ctx context.Context, stream event.StreamID, cmd event.Command, decide func(history []event.Envelope) ([]any, error)) (event.Commit, error)
	// UpdateFrom is Update whose first decision is made on history, the stream as the caller loaded it (empty: a
	// stream believed new), without reading it again: the expected revision is that of history's last event, and a
	// stream that moved since is decided again over a fresh load within cmd.RetryOnConflict (else a Conflict).
	UpdateFrom(ctx context.Context, stream event.StreamID, cmd event.Command, history []event.Envelope, decide func(history []event.Envelope) ([]any, error)) (event.Commit, error)
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

// Runtime is what every handler shares: the event store and the sources of business time and of ids.
type Runtime struct {
	Store EventStore
	Clock func() time.Time // nil: time.Now
	NewID func() uuid.UUID // nil: uuid.New
}

// core is the plumbing every handler embeds: the store, the clock, the ids, and the building of event.Commands.
type core struct {
	store EventStore
	clock func() time.Time
	newID func() uuid.UUID
}

// newCore checks rt (a Store is required) and fills in the defaults.
func newCore(rt Runtime) (core, error) {
	if rt.Store == nil {
		return core{}, errors.New("command: a Store is required")
	}
	c := core{store: rt.Store, clock: rt.Clock, newID: rt.NewID}
	if c.clock == nil {
		c.clock = time.Now
	}
	if c.newID == nil {
		c.newID = uuid.New
	}
	return c, nil
}

// TermsVersion is the version of the conditions of use a registration accepts.
const TermsVersion = "2026-11"

// Members runs the commands of a member's account: registration, activation, login and logout, profile, password
// and its reset, and the administrators' erasure of a member's data and legal holds. Its ports: the store, the
// server key (lookup streams, one-time codes), the password hasher, the insured-person reference (for Register only)
// and the open requests of a member (for EraseMemberData only, given with WithOpenRequests).
type Members struct {
	core
	keys    Keys
	hasher  PasswordHasher
	insured InsuredReference
	// openRequests is the port of EraseMemberData (WithOpenRequests).
	openRequests OpenRequests
}

// NewMembers returns the member commands; Store, keys and hasher are required. Without an insured-person reference
// (nil), Register fails and every other command works.
func NewMembers(rt Runtime, keys Keys, hasher PasswordHasher, insured InsuredReference) (*Members, error) {
	c, err := newCore(rt)
	if err != nil {
		return nil, err
	}
	if keys == nil || hasher == nil {
		return nil, errors.New("command: the member commands need Keys and a PasswordHasher")
	}
	return &Members{core: c, keys: keys, hasher: hasher, insured: insured}, nil
}

// Staff runs the commands of staff accounts: creation, login and logout, roles, the reset of the second factor,
// queue membership, and the log of staff openings of a member's data. Its ports: the store, the server key (login
// streams, TOTP secrets), the password hasher and the TOTP validator (for StaffLogin only).
type Staff struct {
	core
	keys   Keys
	hasher PasswordHasher
	totp   TOTPValidator
}

// NewStaff returns the staff commands; Store, keys and hasher are required. Without a TOTP validator (nil),
// StaffLogin fails and every other command works.
func NewStaff(rt Runtime, keys Keys, hasher PasswordHasher, totp TOTPValidator) (*Staff, error) {
	c, err := newCore(rt)
	if err != nil {
		return nil, err
	}
	if keys == nil || hasher == nil {
		return nil, errors.New("command: the staff commands need Keys and a PasswordHasher")
	}
	return &Staff{core: c, keys: keys, hasher: hasher, totp: totp}, nil
}

// Cases runs the commands on service requests: the member's submission, withdrawal and answer, the staff's work on
// cases (Act, ClaimNext), the lapse of an information deadline, and what a staff member may see of the queues.
// Its only port is the store.
type Cases struct {
	core
}

// NewCases returns the case commands; Store is required.
func NewCases(rt Runtime) (*Cases, error) {
	c, err := newCore(rt)
	if err != nil {
		return nil, err
	}
	return &Cases{core: c}, nil
}

// Finance runs the commands of a member's finance history: facts reported by the fund's other systems (parked
// until the account opens when need be), invoice payments and payment attestations. Its ports: the store and the
// server key (the lookup streams of NIRs).
type Finance struct {
	core
	keys Keys
}

// NewFinance returns the finance commands; Store and keys are required.
func NewFinance(rt Runtime, keys Keys) (*Finance, error) {
	c, err := newCore(rt)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, errors.New("command: the finance commands need Keys")
	}
	return &Finance{core: c, keys: keys}, nil
}

// Estimates runs the commands of a member's saved estimates. Its only port is the store.
type Estimates struct {
	core
}

// NewEstimates returns the estimate commands; Store is required.
func NewEstimates(rt Runtime) (*Estimates, error) {
	c, err := newCore(rt)
	if err != nil {
		return nil, err
	}
	return &Estimates{core: c}, nil
}

// Meta is who runs a command and under which ids; the HTTP layer fills it from the session and the request.
type Meta struct {
	Actor         event.Actor
	CorrelationID uuid.UUID // the request id
	// CommandID is the idempotency key: the client's Idempotency-Key header when given (a retry then appends
	// nothing new), a fresh id otherwise.
	CommandID uuid.UUID
	// RequestHash fingerprints the HTTP request behind an Idempotency-Key (see event.Metadata.RequestHash): a retry
	// of the same command id for another request is refused (event.ErrRequestReused) instead of replayed.
	RequestHash string
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
func (c *core) command(m Meta, stream event.StreamID) event.Command {
	id := m.CommandID
	if id == uuid.Nil {
		id = c.newID()
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
		OccurredAt:    c.clock().UTC(),
		RequestHash:   m.RequestHash,
	}}
}
