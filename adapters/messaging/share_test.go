package messaging_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// TestHandlersMoveBackToARestartedReplica: a replica that runs every handler (the other one died) hands the surplus
// over when a replica starts again (fair share: ceil(handlers/replicas) each), and the handed-over handlers go on
// from their checkpoints on the other replica.
func TestHandlersMoveBackToARestartedReplica(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		l := startLog(t)
		names := []string{"test.share-one", "test.share-two"}
		start := func(holder string) *sqldb.DB {
			db, err := sqldb.Open(ctxT(t), tg.Dialect, tg.DSN, sqldb.Options{Holder: holder})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			migrate(t, db)
			cfg := fastConfig(l, db)
			cfg.ShareInterval = 100 * time.Millisecond
			router, err := messaging.NewRouter(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				if err := router.AddHandler(n, func(*message.Message) error { return nil }); err != nil {
					t.Fatal(err)
				}
			}
			running(t, router)
			return db
		}
		held := func(db *sqldb.DB) map[string]int {
			hs, err := db.LeaseHolders(context.Background(), "reaction.test.share-")
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int{}
			for _, h := range hs {
				if h.Held {
					out[h.Holder]++
				}
			}
			return out
		}
		a := start("replica-a")
		waitFor(t, "a runs both", func() bool { return held(a)["replica-a"] == 2 })
		b := start("replica-b")
		waitFor(t, "one handler each", func() bool { h := held(b); return h["replica-a"] == 1 && h["replica-b"] == 1 })
		time.Sleep(500 * time.Millisecond) // the share holds
		if h := held(a); h["replica-a"] != 1 || h["replica-b"] != 1 {
			t.Errorf("after a while: %v", h)
		}
		last := l.appendOne(t, newStream(), caseOpened{Queue: "q"})
		for _, n := range names {
			waitCheckpoint(t, a, n, last.commit.Position)
		}
	})
}
