// Package newstreams is the sample reaction, kept until the members issue brings the first real one (the activation
// code mail). It is small but real, and rehearses that mail's shape: for the first event of every stream (a new
// member, a new service request, ...), it writes one JSON file into a directory, as the mail outbox writes one .eml
// file per message.
//
// The file is an external effect, so it goes through messaging.OnceExternal: written at least once, then recorded.
// Its name is the effect key (messaging.EffectKey), so a repeat after a crash between the write and the record
// replaces the file instead of adding a second one: exactly one file per new stream. It is written to a temporary
// name and renamed, so a reader never sees half a file.
//
// A notice holds identifiers only (stream, type, ids, position, times), never the event's payload: it reads the
// message's metadata, so it works even for events this code cannot decode.
package newstreams

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Name is the handler name of the reaction: its identity (checkpoint, processed keys). Never change it.
const Name = "samples.new-streams"

// Notice is the content of one file.
type Notice struct {
	Stream        string `json:"stream"`
	Category      string `json:"category"`
	EventType     string `json:"event_type"`
	EventID       string `json:"event_id"`
	Position      uint64 `json:"position"`
	CorrelationID string `json:"correlation_id,omitempty"`
	OccurredAt    string `json:"occurred_at,omitempty"`
	RecordedAt    string `json:"recorded_at,omitempty"`
}

// Reaction writes a Notice per new stream into its directory.
type Reaction struct {
	db  *sqldb.DB
	dir string
}

// New returns the reaction; db holds its processed-event keys, dir receives the files (created if missing).
func New(db *sqldb.DB, dir string) *Reaction { return &Reaction{db: db, dir: dir} }

// Handle is the watermill handler: add it with router.AddHandler(newstreams.Name, r.Handle).
func (r *Reaction) Handle(msg *message.Message) error {
	rec, err := messaging.RecordOf(msg)
	if err != nil {
		return err
	}
	if rec.Revision != 0 {
		return nil
	}
	category, _, _ := strings.Cut(rec.Stream, "-")
	n := Notice{
		Stream:        rec.Stream,
		Category:      category,
		EventType:     rec.Type,
		EventID:       rec.EventID.String(),
		Position:      rec.Position,
		CorrelationID: msg.Metadata.Get(messaging.MetaCorrelationID),
		OccurredAt:    msg.Metadata.Get(messaging.MetaOccurredAt),
		RecordedAt:    msg.Metadata.Get(messaging.MetaRecordedAt),
	}
	_, err = messaging.OnceExternal(msg.Context(), r.db, Name, rec.EventID, func(_ context.Context, key uuid.UUID) error {
		return r.write(key, n)
	})
	return err
}

// Path returns the file of the notice whose effect key is key.
func (r *Reaction) Path(key uuid.UUID) string { return filepath.Join(r.dir, key.String()+".json") }

// write stores n under its key, atomically. A disk that refuses is classified Unavailable: the event is delivered
// again until the disk is fixed, rather than every new stream of the incident being poisoned.
func (r *Reaction) write(key uuid.UUID, n Notice) (err error) {
	defer func() { err = failure.Wrap("newstreams.write", failure.Unavailable, err) }()
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(r.dir, ".notice-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing left to remove
	if _, err := tmp.Write(append(body, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), r.Path(key)); err != nil {
		return fmt.Errorf("rename: %w", err)
	}
	// Make the rename itself durable before the key is recorded.
	d, err := os.Open(r.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
