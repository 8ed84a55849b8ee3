package command

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/simulation"
)

// estimateRetries is how often saving an estimate is decided again after a lost race on the member's stream
// (re-deciding is safe: a saved estimate depends on nothing already saved).
const estimateRetries = 3

// SavedEstimate is an estimate a member saved, as stored.
type SavedEstimate struct {
	Result
	EstimateID uuid.UUID
	SavedAt    time.Time
	Estimate   simulation.Result
}

// SaveEstimate computes the estimate of in (simulation.Estimate, the same pure function as the anonymous estimate)
// and keeps it for member memberID: a simulation.EstimateSaved, with its lines and total, on
// nsaestimates-<memberID>. An invalid input is the simulation's catalog.FieldErrors (request.form_invalid, each
// field named) and nothing is written.
//
// The estimate id derives from Meta.CommandID (the Idempotency-Key) and the member: a retry with the same key
// appends nothing and returns the estimate that key saved, with its original position, even if the retry's input
// differs. The answer is always read back from the stored event, so it is what the member will find again.
func (h *Estimates) SaveEstimate(ctx context.Context, m Meta, memberID uuid.UUID, in simulation.Input) (SavedEstimate, error) {
	const op = "command.SaveEstimate"
	result, err := simulation.Estimate(in)
	if err != nil {
		return SavedEstimate{}, failure.Op(op, err)
	}
	if memberID == uuid.Nil {
		return SavedEstimate{}, failure.Op(op, member.ErrNotFound)
	}
	m = withActor(h.withCommandID(m), memberID)
	stream := event.NewStreamID(simulation.SavedCategory, memberID)
	cmd := h.commandAt(m, stream, h.clock().UTC())
	cmd.RetryOnConflict = estimateRetries
	// cmd's command id is already specific to the member's stream: two members sending the same key save two
	// estimates with two ids.
	id := uuid.NewSHA1(cmd.Metadata.CommandID, []byte("nsa-estimate"))
	commit, err := h.store.Update(ctx, stream, cmd, func([]event.Envelope) ([]any, error) {
		return []any{simulation.Saved(id, result)}, nil
	})
	if err != nil {
		return SavedEstimate{}, failure.Op(op, err)
	}
	// Read back what the command id holds: a retry (or a concurrent twin that won the race) answers with the
	// estimate stored first, not with the one computed now.
	history, err := h.store.Load(ctx, stream)
	if err != nil {
		return SavedEstimate{}, failure.Op(op, err)
	}
	for _, env := range history {
		if saved, ok := env.Event.(simulation.EstimateSaved); ok && env.Metadata.CommandID == cmd.Metadata.CommandID {
			return SavedEstimate{Result: Result{Position: commit.Position}, EstimateID: saved.EstimateID,
				SavedAt: env.Metadata.OccurredAt.UTC(), Estimate: saved.Result()}, nil
		}
	}
	return SavedEstimate{}, failure.Opf(op, "the saved estimate is not in %s", stream)
}
