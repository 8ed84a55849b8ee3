package messaging

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// EventReader reads one stored event back, decoded, for a poison replay: the event of stream at commit position
// position, whose id is eventID. An event that is no longer there is an error of kind NotFound (ErrEventNotFound);
// a store that does not answer, of kind Unavailable (the replay is tried again later).
type EventReader interface {
	ReadEvent(ctx context.Context, stream string, position uint64, eventID uuid.UUID) (event.Delivery, error)
}

// ErrEventNotFound is returned by an EventReader when the event to replay is no longer in the store (its stream was
// deleted or truncated): the replay fails, and the poison row stays with this error.
var ErrEventNotFound = failure.New(failure.NotFound, "reactions.event_not_found", "event not found in the store")

// ErrNoPoisonEvent is returned by RequestReplay when no poison event matches the request.
var ErrNoPoisonEvent = failure.New(failure.NotFound, "reactions.no_poison_event", "no poison event matches")

// ErrInvalidRequester is returned by RequestReplay for a requester that is not an operator id or ticket reference.
var ErrInvalidRequester = failure.New(failure.Invalid, "reactions.invalid_requester",
	"requester must be an operator id or ticket reference: letters, digits and . _ : / # - (at most 64), no spaces, no @")

// requester is what RequestReplay accepts as ReplayRequest.By: an id, never a name with spaces nor an email.
var requester = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,63}$`)

// CheckRequester returns ErrInvalidRequester unless by is an operator id or ticket reference: the rule for every
// request an operator records (replays here, projection rebuilds).
func CheckRequester(by string) error {
	if !requester.MatchString(by) {
		return ErrInvalidRequester
	}
	return nil
}

// ReplayRequest selects the poison events to replay.
type ReplayRequest struct {
	// Handler restricts the request to one handler's poison events ("" for every handler).
	Handler string
	// EventIDs are the events to replay (for each handler that has them as poison). Empty with All: every poison
	// event (of Handler, if set).
	EventIDs []string
	All      bool
	// By is who asks: an operator id or ticket reference (no name, no email). It is stored with the request and
	// logged when the replay runs.
	By string
	// At is when the request is made.
	At time.Time
}

// RequestReplay asks for the replay of the poison events req selects and returns them as marked. It does not run
// them: the replica holding each handler's lease does (Router, every ReplayInterval), through the same handler,
// Retry and Recoverer as a delivery, so that effects stay exactly once (Once and OnceExternal find the keys of
// whatever the first attempts did). A replay that succeeds removes the event from the poison list; one that fails
// keeps it with its new error, Replays incremented and the request cleared. Asking again for an event whose replay
// is already requested renews the request.
//
// ErrNoPoisonEvent when nothing matches; ErrInvalidRequester for a By that is not an id.
func RequestReplay(ctx context.Context, db *sqldb.DB, req ReplayRequest) ([]Poison, error) {
	if err := CheckRequester(req.By); err != nil {
		return nil, err
	}
	if req.All == (len(req.EventIDs) > 0) {
		return nil, failure.Errorf(failure.Invalid, "messaging: a replay request names events or asks for all, not both nor neither")
	}
	ids := make([]string, 0, len(req.EventIDs))
	for _, s := range req.EventIDs {
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, failure.Errorf(failure.Invalid, "messaging: event id %q is not a UUID", s)
		}
		ids = append(ids, id.String())
	}
	where, args := "", []any{}
	if req.Handler != "" {
		where += " AND handler = ?"
		args = append(args, req.Handler)
	}
	if len(ids) > 0 {
		where += " AND event_id IN (?" + repeat(", ?", len(ids)-1) + ")"
		for _, id := range ids {
			args = append(args, id)
		}
	}
	at := req.At.UTC()
	var marked []Poison
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		q := "UPDATE reaction_poison SET replay_requested_at = ?, replay_requested_by = ? WHERE 1 = 1" + where
		if _, err := tx.ExecContext(ctx, tx.Rebind(q), append([]any{at, req.By}, args...)...); err != nil {
			return err
		}
		rows, err := tx.QueryxContext(ctx, tx.Rebind("SELECT "+poisonColumns+" FROM reaction_poison WHERE 1 = 1"+where+
			" ORDER BY handler, position"), args...)
		if err != nil {
			return err
		}
		marked, err = scanPoison(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("messaging: request replay: %w", err)
	}
	if len(marked) == 0 {
		return nil, ErrNoPoisonEvent
	}
	return marked, nil
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

// ReplayOutcome is what became of a requested replay.
type ReplayOutcome int

// Outcomes of Replays.
const (
	ReplayPending   ReplayOutcome = iota // not served yet (or asked again since)
	ReplaySucceeded                      // handled: removed from the poison list
	ReplayFailed                         // failed again: kept, with its new error
)

// ReplayStatus returns what became of the replay of p requested at p.ReplayRequestedAt (as RequestReplay returned
// it), and the poison row as it is now (zero when it succeeded).
func ReplayStatus(ctx context.Context, db *sqldb.DB, p Poison) (ReplayOutcome, Poison, error) {
	r := db.Reader()
	rows, err := r.QueryxContext(ctx, r.Rebind("SELECT "+poisonColumns+" FROM reaction_poison WHERE handler = ? AND event_id = ?"),
		p.Handler, p.EventID)
	if err != nil {
		return ReplayPending, Poison{}, fmt.Errorf("messaging: replay status: %w", err)
	}
	now, err := scanPoison(rows)
	if err != nil {
		return ReplayPending, Poison{}, fmt.Errorf("messaging: replay status: %w", err)
	}
	switch {
	case len(now) == 0:
		return ReplaySucceeded, Poison{}, nil
	case !now[0].ReplayRequestedAt.IsZero():
		return ReplayPending, now[0], nil
	case now[0].Replays > p.Replays:
		return ReplayFailed, now[0], nil
	}
	return ReplayPending, now[0], nil // the request was cleared some other way: say so rather than guess
}

// pendingReplays returns the handler's poison events whose replay is requested, oldest event first.
func pendingReplays(ctx context.Context, db *sqldb.DB, handler string) ([]Poison, error) {
	r := db.Reader()
	rows, err := r.QueryxContext(ctx, r.Rebind("SELECT "+poisonColumns+
		" FROM reaction_poison WHERE handler = ? AND replay_requested_at IS NOT NULL ORDER BY position LIMIT 100"), handler)
	if err != nil {
		return nil, fmt.Errorf("messaging: pending replays of %s: %w", handler, err)
	}
	out, err := scanPoison(rows)
	if err != nil {
		return nil, fmt.Errorf("messaging: pending replays of %s: %w", handler, err)
	}
	return out, nil
}

// serveReplays runs the replays requested for h, one event at a time between deliveries.
func (r *Router) serveReplays(ctx context.Context, h *handler) {
	reqs, err := pendingReplays(ctx, r.cfg.DB, h.name)
	if err != nil {
		if ctx.Err() == nil {
			r.logger.Warn("reactions: replay requests not read; trying again later", "handler", h.name, "error", Describe(err))
		}
		return
	}
	if len(reqs) > 0 && r.cfg.Events == nil {
		r.logger.Warn("reactions: replays requested but this router cannot read events back (no EventReader); they wait",
			"handler", h.name, "requested", len(reqs))
		return
	}
	for _, p := range reqs {
		if ctx.Err() != nil {
			return
		}
		r.replay(ctx, h, p)
	}
}

// replay hands the poison event p to its handler again and records the verdict.
func (r *Router) replay(ctx context.Context, h *handler, p Poison) {
	attrs := []any{"handler", h.name, "stream", p.Stream, "position", p.Position, "event_type", p.EventType,
		"event_id", p.EventID, "correlation_id", p.CorrelationID, "requested_by", p.ReplayRequestedBy,
		"requested_at", p.ReplayRequestedAt.Format(time.RFC3339)}
	id, err := uuid.Parse(p.EventID)
	if err != nil {
		err = failure.Wrap("messaging.replay", failure.Invalid, err)
		r.replayFailed(ctx, h, p, err, 0, attrs)
		return
	}
	d, err := r.cfg.Events.ReadEvent(ctx, p.Stream, p.Position, id)
	switch {
	case err != nil && ctx.Err() != nil:
		return // stopping: the request stays
	case err != nil && failure.KindOf(err) != failure.NotFound && failure.KindOf(err) != failure.Invalid:
		r.logger.Warn("reactions: poison event not read back for its replay; trying again later",
			append(attrs, "error", Describe(err))...)
		return
	case err != nil:
		r.replayFailed(ctx, h, p, err, 0, attrs)
		return
	}

	msg := newMessage(d, 1)
	msg.Metadata.Set(MetaReplay, "true")
	attempts := new(int)
	msgCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	msg.SetContext(context.WithValue(withDelivery(msgCtx, d), attemptsKey{}, attempts))
	h.busy.Lock()
	_, err = middleware.CorrelationID(h.call)(msg)
	h.busy.Unlock()
	if err != nil && ctx.Err() != nil {
		return // stopping: the request stays, the replay runs again at the next start
	}
	if err != nil {
		r.replayFailed(ctx, h, p, err, *attempts, attrs)
		return
	}
	if _, derr := r.cfg.DB.ExecContext(ctx, r.cfg.DB.Rebind(`DELETE FROM reaction_poison WHERE handler = ? AND event_id = ?`),
		h.name, p.EventID); derr != nil {
		// The effect is done (and keyed); the next replay finds the key and only removes the row.
		r.logger.Error("reactions: poison event replayed but not removed from the poison list; it will be replayed again",
			append(attrs, "attempts", *attempts, "record_error", derr)...)
		return
	}
	r.metrics.replays.WithLabelValues(h.name, outcomeOK).Inc()
	r.logger.Info("reactions: poison event replayed; removed from the poison list", append(attrs, "attempts", *attempts)...)
}

// replayFailed keeps p in the poison list with its new error and clears the request.
func (r *Router) replayFailed(ctx context.Context, h *handler, p Poison, err error, attempts int, attrs []any) {
	q := `UPDATE reaction_poison SET kind = ?, code = ?, error = ?, attempts = ?, failed_at = ?, replays = replays + 1,
		replay_requested_at = NULL, replay_requested_by = '' WHERE handler = ? AND event_id = ?`
	desc := Describe(err)
	if _, uerr := r.cfg.DB.ExecContext(ctx, r.cfg.DB.Rebind(q), failure.KindOf(err).String(), failure.CodeOf(err), desc,
		attempts, r.cfg.Now().UTC(), h.name, p.EventID); uerr != nil {
		r.logger.Error("reactions: failed replay not recorded; it will be replayed again",
			append(attrs, "error", desc, "record_error", uerr)...)
		return
	}
	r.metrics.replays.WithLabelValues(h.name, outcomeFailed).Inc()
	r.logger.Warn("reactions: poison event replayed and failed again; kept in the poison list",
		append(attrs, "attempts", attempts, "kind", failure.KindOf(err).String(), "code", failure.CodeOf(err), "error", desc)...)
}
