package command

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/staff"
)

// staffScopeKey marks a request's staffScope in its context.
type staffScopeKey struct{}

// staffScope keeps the staff stream a request's session check read (Staff.StaffSession), so that the case and queue
// commands of the same request decide on it instead of reading the stream again. The record may be stale by the
// duration of one request, no more: every request starts with a fresh read (a staff member deactivated, or whose
// session ended, is refused by that read).
type staffScope struct {
	mu      sync.Mutex
	id      uuid.UUID
	history []event.Envelope
}

// WithStaffScope returns ctx ready to carry, for the rest of one request, the staff stream its session check reads.
// Give it to the session check and to the request's commands (the HTTP layer does for staff routes).
func WithStaffScope(ctx context.Context) context.Context {
	return context.WithValue(ctx, staffScopeKey{}, &staffScope{})
}

// loadStaffHistory reads staff member id's stream, or takes it from the request's scope when its session check read
// it. With remember (the session check), what it reads is kept in the scope.
func (c *core) loadStaffHistory(ctx context.Context, id uuid.UUID, remember bool) ([]event.Envelope, error) {
	sc, _ := ctx.Value(staffScopeKey{}).(*staffScope)
	if sc != nil && !remember {
		sc.mu.Lock()
		kept, history := sc.id == id && id != uuid.Nil, sc.history
		sc.mu.Unlock()
		if kept {
			return history, nil
		}
	}
	history, err := c.store.Load(ctx, staff.StreamFor(id))
	if err != nil {
		return nil, err
	}
	if sc != nil && remember {
		sc.mu.Lock()
		sc.id, sc.history = id, history
		sc.mu.Unlock()
	}
	return history, nil
}
