package messaging_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/messaging"
)

// The back-off of a due row: the interval doubled per failed attempt, ten doublings at the most, an hour at the most.
func TestRetryIn(t *testing.T) {
	for _, c := range []struct {
		interval time.Duration
		attempts int
		want     time.Duration
	}{
		{30 * time.Second, 1, time.Minute},
		{30 * time.Second, 3, 4 * time.Minute},
		{30 * time.Second, 7, time.Hour}, // 64 min, capped
		{time.Millisecond, 10, 1024 * time.Millisecond},
		{time.Millisecond, 40, 1024 * time.Millisecond}, // ten doublings at the most
	} {
		if got := messaging.RetryIn(c.interval, c.attempts); got != c.want {
			t.Errorf("RetryIn(%v, %d) = %v, want %v", c.interval, c.attempts, got, c.want)
		}
	}
}

// A scheduler whose dependencies are invalid says so at once and reads nothing.
func TestSchedulerWithInvalidDepsReturnsTheirError(t *testing.T) {
	invalid := errors.New("scheduler: DB is required")
	read := false
	s := messaging.NewScheduler(messaging.DueRows[int]{Read: func(context.Context, time.Time, int) ([]int, error) {
		read = true
		return nil, nil
	}}, invalid)
	if err := s.Run(context.Background()); !errors.Is(err, invalid) || read {
		t.Fatalf("Run = %v (rows read: %v), want %v", err, read, invalid)
	}
}
