package memberrequests

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// OpenRequestCount returns how many of memberID's requests are still open (not decided, withdrawn nor lapsed): an
// erasure of the member's data is refused while there is one (command.OpenRequests).
func (q *Queries) OpenRequestCount(ctx context.Context, memberID uuid.UUID) (int, error) {
	var n int
	if err := sqlx.GetContext(ctx, q.db, &n, q.db.Rebind("SELECT COUNT(*) FROM "+Name+
		" WHERE member_id = ? AND closed_at IS NULL"), memberID.String()); err != nil {
		return 0, fmt.Errorf("memberrequests: open requests: %w", err)
	}
	return n, nil
}
