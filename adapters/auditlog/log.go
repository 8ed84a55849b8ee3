package auditlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Tree is the audit tree as the read model keeps it (projections/audittree.Queries).
type Tree interface {
	// Size returns the number of leaves and the positions of the last one.
	Size(ctx context.Context) (size int64, lastCommit, lastPrepare uint64, err error)
	// Hashes reads the tree's stored hashes.
	Hashes(ctx context.Context) tlog.HashReader
	// LeafIndexes returns the leaf index of each commit position the tree holds.
	LeafIndexes(ctx context.Context, commits []uint64) (map[uint64]int64, error)
}

// Store appends head events and reads them back (*kurrentdb.Store).
type Store interface {
	Append(ctx context.Context, stream event.StreamID, expected esdb.ExpectedRevision, meta event.Metadata, events ...any) (event.Commit, error)
	Load(ctx context.Context, stream event.StreamID) ([]event.Envelope, error)
}

// Errors of signing and proving.
var (
	ErrEmptyTree  = failure.New(failure.Rule, "audit.empty_tree", "auditlog: the tree has no leaf yet: nothing to sign")
	ErrNoHead     = failure.New(failure.Rule, "audit.no_signed_head", "auditlog: no signed tree head covers these events yet")
	ErrTreeBehind = failure.New(failure.Unavailable, "audit.tree_behind", "auditlog: the audit tree has not reached these events yet")
	ErrNoKey      = failure.New(failure.Invalid, "audit.no_signing_key", "auditlog: no audit signing key configured")
)

// Log signs tree heads and proves events against them.
type Log struct {
	tree  Tree
	store Store
	key   *Key // nil: Sign refuses and Prove uses the heads already signed
	now   func() time.Time
}

// New returns the log over tree and store; key may be nil where nothing is signed.
func New(tree Tree, store Store, key *Key) *Log {
	return &Log{tree: tree, store: store, key: key, now: time.Now}
}

// SignedHead is a head as recorded: the head, its signed note and where the event landed.
type SignedHead struct {
	Head
	Note     string
	KeyID    string
	Position uint64 // commit position of the head event (0 before it is stored)
}

// actor signs heads in the events' metadata.
var actor = event.Actor{ID: "auditlog/heads", Role: event.RoleSystem}

// Sign signs the head of the tree as the read model holds it now and appends it to HeadStream. When the tree has
// not moved since the latest head but for that head's own event, it appends nothing and returns the latest head
// (signed is false): an idle log gets no new head every interval.
func (l *Log) Sign(ctx context.Context) (h SignedHead, signed bool, err error) {
	if l.key == nil {
		return SignedHead{}, false, ErrNoKey
	}
	size, commit, prepare, err := l.tree.Size(ctx)
	if err != nil {
		return SignedHead{}, false, err
	}
	if size == 0 {
		return SignedHead{}, false, ErrEmptyTree
	}
	latest, found, err := l.Latest(ctx)
	if err != nil {
		return SignedHead{}, false, err
	}
	if found && latest.Position >= commit {
		return latest, false, nil
	}
	root, err := tlog.TreeHash(size, l.tree.Hashes(ctx))
	if err != nil {
		return SignedHead{}, false, fmt.Errorf("auditlog: tree hash at %d: %w", size, err)
	}
	head := Head{Size: size, Root: root, LastCommit: commit, LastPrepare: prepare, At: l.now().UTC()}
	note, err := l.key.Sign(head)
	if err != nil {
		return SignedHead{}, false, err
	}
	id := uuid.New()
	meta := event.Metadata{CorrelationID: id, CausationID: id, CommandID: id, Actor: actor, OccurredAt: head.At}
	ev := HeadSigned{Size: size, Root: root.String(), LastCommit: commit, KeyID: l.key.KeyID(), SignedAt: head.At, Note: note}
	c, err := l.store.Append(ctx, HeadStream, esdb.Any{}, meta, ev)
	if err != nil {
		return SignedHead{}, false, fmt.Errorf("auditlog: append the signed head: %w", err)
	}
	return SignedHead{Head: head, Note: note, KeyID: ev.KeyID, Position: c.Position}, true, nil
}

// Latest returns the latest signed head in the store, as recorded (its signature is not checked here: Verify and
// Check do that with the auditor's public key).
func (l *Log) Latest(ctx context.Context) (SignedHead, bool, error) {
	evs, err := l.store.Load(ctx, HeadStream)
	if err != nil {
		if errors.Is(err, failure.NotFound) {
			return SignedHead{}, false, nil
		}
		return SignedHead{}, false, fmt.Errorf("auditlog: read the signed heads: %w", err)
	}
	for i := len(evs) - 1; i >= 0; i-- {
		ev, ok := evs[i].Event.(HeadSigned)
		if !ok {
			continue
		}
		h, err := unverifiedHead(ev.Note)
		if err != nil {
			return SignedHead{}, false, fmt.Errorf("auditlog: signed head at position %d: %w", evs[i].Position, err)
		}
		return SignedHead{Head: h, Note: ev.Note, KeyID: ev.KeyID, Position: evs[i].Position}, true, nil
	}
	return SignedHead{}, false, nil
}

// Heads returns the signed heads recorded in store, oldest first, as recorded (signatures are not checked here):
// what `dossier audit heads` publishes for auditors to keep outside the log (VerifyKept).
func Heads(ctx context.Context, store Store) ([]SignedHead, error) {
	evs, err := store.Load(ctx, HeadStream)
	if err != nil {
		if errors.Is(err, failure.NotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("auditlog: read the signed heads: %w", err)
	}
	var out []SignedHead
	for _, e := range evs {
		ev, ok := e.Event.(HeadSigned)
		if !ok {
			continue
		}
		h, err := unverifiedHead(ev.Note)
		if err != nil {
			return nil, fmt.Errorf("auditlog: signed head at position %d: %w", e.Position, err)
		}
		out = append(out, SignedHead{Head: h, Note: ev.Note, KeyID: ev.KeyID, Position: e.Position})
	}
	return out, nil
}

// unverifiedHead reads the head text of a signed note without checking its signature.
func unverifiedHead(signed string) (Head, error) {
	text, _, ok := cutNote(signed)
	if !ok {
		return Head{}, ErrMalformedHead
	}
	return parseHeadText(text)
}

// cutNote splits a signed note into its text (with its final newline) and its signature lines.
func cutNote(signed string) (text, sigs string, ok bool) {
	for i := 0; i+1 < len(signed); i++ {
		if signed[i] == '\n' && signed[i+1] == '\n' {
			return signed[:i+1], signed[i+2:], true
		}
	}
	return "", "", false
}

// decodeHeadSigned reads a stored head event's payload (verify reads raw records, without the registry).
func decodeHeadSigned(data []byte) (HeadSigned, error) {
	var ev HeadSigned
	if err := json.Unmarshal(data, &ev); err != nil {
		return HeadSigned{}, fmt.Errorf("%w: %v", ErrMalformedHead, err)
	}
	return ev, nil
}
