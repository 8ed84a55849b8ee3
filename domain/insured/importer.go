package insured

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
)

// Loader reads a stream's decoded history (adapters/kurrentdb.Store implements it). A stream that does not exist
// has an empty history.
type Loader interface {
	Load(ctx context.Context, stream event.StreamID) ([]event.Envelope, error)
}

// Store is what the importer needs of the event store (adapters/kurrentdb.Store implements it).
type Store interface {
	Loader
	Update(ctx context.Context, stream event.StreamID, cmd event.Command, decide func(history []event.Envelope) ([]any, error)) (event.Commit, error)
}

// commandPurpose is the keyed-hash purpose of import command ids. Stored command ids depend on it.
const commandPurpose = "insuredimport"

// conflictRetries is how often a line is decided again after another writer changed its stream meanwhile.
const conflictRetries = 3

// Report says what an import did. It holds counts and line numbers, never a NIR or a name, so it can be printed and
// kept.
type Report struct {
	Lines     int // data lines read (the header excluded, blank lines skipped)
	Imported  int // people recorded for the first time
	Corrected int // people whose names or birth date changed
	Unchanged int // people already recorded exactly so
	Rejected  []Rejection
	// Position is the commit position of the last event appended (the read-your-writes token), 0 if none.
	Position uint64
}

// Rejection is a line that was not imported, with the reason's stable code and its French message.
type Rejection struct {
	Line    int
	Code    string
	Message string
}

// Importer loads the fund's file of insured people into the reference. It is the application service behind
// `dossier admin import-insured`.
type Importer struct {
	store Store
	keys  Keys
	now   func() time.Time
}

// NewImporter returns an importer appending through store, naming streams with keys, dating events with now.
func NewImporter(store Store, keys Keys, now func() time.Time) *Importer {
	return &Importer{store: store, keys: keys, now: now}
}

// Import reads a CSV file (UTF-8; a header line naming the columns nir;nom;prenom;date_naissance, in that order;
// ";" or "," as separator, detected on the header line; one person per line: the NIR with its key, last name,
// first name, birth date YYYY-MM-DD) and brings the reference up to date, line by line:
//
//   - a line that does not validate is rejected with its line number and a reason code (see NewIdentity, the nir
//     package's codes, ErrColumns, ErrMalformedLine, ErrEncoding, ErrDuplicate: a NIR already seen on an earlier
//     line of the same file) and writes nothing;
//   - a valid line appends what Decide says: a Recorded, a Corrected, or nothing when the reference already says
//     exactly this, so importing the same file again appends nothing.
//
// Event ids derive from a command id that is a keyed hash of the stream, the revision decided on and the line's
// content: a retried or interrupted import appends nothing twice, and a person whose data change from A to B and
// back to A gets a second correction rather than being mistaken for the first import. Events carry actor by and
// correlation id correlation; their business time is now() at the start.
//
// A file-level problem (ErrEmptyFile, ErrSeparator, ErrNoHeader, ErrHeader) imports nothing. A store failure stops
// the import and is returned with the report so far: lines before it are imported, and running the import again
// is safe.
func (im *Importer) Import(ctx context.Context, r io.Reader, by event.Actor, correlation uuid.UUID) (Report, error) {
	var rep Report
	rows, err := newRowReader(r)
	if err != nil {
		return rep, err
	}
	now := im.now()
	seen := make(map[uuid.UUID]struct{})
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		line, fields, lineErr, err := rows.next()
		if errors.Is(err, io.EOF) {
			return rep, nil
		}
		if err != nil {
			return rep, err
		}
		rep.Lines++
		if lineErr != nil {
			rep.reject(line, lineErr)
			continue
		}
		id, err := parseRow(fields, now)
		if err != nil {
			rep.reject(line, err)
			continue
		}
		stream := StreamFor(im.keys, id.NIR)
		if _, dup := seen[stream.ID]; dup {
			rep.reject(line, ErrDuplicate)
			continue
		}
		seen[stream.ID] = struct{}{}
		outcome, commit, err := im.apply(ctx, stream, id, event.Metadata{CorrelationID: correlation, Actor: by, OccurredAt: now})
		if err != nil {
			return rep, fmt.Errorf("import line %d: %w", line, err)
		}
		switch outcome {
		case OutcomeNew:
			rep.Imported++
		case OutcomeCorrected:
			rep.Corrected++
		default:
			rep.Unchanged++
		}
		if commit.Appended > 0 {
			rep.Position = max(rep.Position, commit.Position)
		}
	}
}

func (rep *Report) reject(line int, err error) {
	code := failure.CodeOf(err)
	msg, _ := messages.FR(code) // the code's sentence: it never holds the line's data
	rep.Rejected = append(rep.Rejected, Rejection{Line: line, Code: code, Message: msg})
}

// apply brings one stream to id, deciding again if another writer got there first.
func (im *Importer) apply(ctx context.Context, stream event.StreamID, id Identity, meta event.Metadata) (Outcome, event.Commit, error) {
	for attempt := 0; ; attempt++ {
		history, err := im.store.Load(ctx, stream)
		if err != nil {
			return OutcomeUnchanged, event.Commit{}, err
		}
		_, outcome, err := Decide(history, id)
		if err != nil || outcome == OutcomeUnchanged {
			return outcome, event.Commit{}, err
		}
		cmd := event.Command{Metadata: meta}
		revision := "none"
		if len(history) > 0 {
			last := history[len(history)-1].Revision
			cmd.ExpectedRevision = &last
			revision = strconv.FormatUint(last, 10)
		}
		cmdID := im.keys.StreamFor(commandPurpose, strings.Join([]string{stream.String(), revision, id.content()}, "\x1f"))
		cmd.Metadata.CommandID, cmd.Metadata.CausationID = cmdID, cmdID
		commit, err := im.store.Update(ctx, stream, cmd, func(history []event.Envelope) ([]any, error) {
			events, _, err := Decide(history, id)
			return events, err
		})
		if failure.KindOf(err) == failure.Conflict && attempt < conflictRetries {
			continue
		}
		if err != nil {
			return OutcomeUnchanged, event.Commit{}, err
		}
		if commit.Appended == 0 {
			// a replay of this very command (an interrupted earlier run), or the stream already said this
			return OutcomeUnchanged, commit, nil
		}
		return outcome, commit, nil
	}
}

// content is the line's data in one unambiguous string (names cannot hold control characters).
func (id Identity) content() string {
	return strings.Join([]string{id.NIR.Full(), id.LastName, id.FirstName, formatDate(id.BirthDate)}, "\x1f")
}
