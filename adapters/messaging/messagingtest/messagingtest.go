// Package messagingtest holds what the tests of the reactions and their schedulers share: a test's context,
// polling until a condition holds, waiting for handlers' checkpoints, and running a scheduler for the test's length.
package messagingtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// Context is a test's context: it ends with the test, or after 90 s.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Eventually polls cond until it holds; after 30 s it fails t, saying what it waited for.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Reached waits until every one of handlers has acknowledged the log up to position on db.
func Reached(t testing.TB, db *sqldb.DB, handlers []string, position uint64) {
	t.Helper()
	Eventually(t, fmt.Sprintf("handlers at position %d", position), func() bool {
		for _, h := range handlers {
			p, _, err := messaging.Checkpoint(Context(t), db, h)
			if err != nil {
				t.Fatal(err)
			}
			if p < position {
				return false
			}
		}
		return true
	})
}

// Run runs run (a scheduler's Run) until the returned stop is called, or the test ends; stop waits for it to
// return (20 s at the most) and an error it returns fails t.
func Run(t testing.TB, run func(ctx context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("scheduler: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("scheduler did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Migrate creates the reactions' tables on db (messaging.Migrate), then those of each of migrate (a reaction
// package's Migrate).
func Migrate(t testing.TB, db *sqldb.DB, migrate ...func(context.Context, *sqldb.DB) error) {
	t.Helper()
	for _, m := range append([]func(context.Context, *sqldb.DB) error{messaging.Migrate}, migrate...) {
		if err := m(Context(t), db); err != nil {
			t.Fatal(err)
		}
	}
}
