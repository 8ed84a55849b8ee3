package readmodels_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentdb/kurrentdbtest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

// TestVerify (issue 16 item 4): after a scenario (two members' accounts, requests of two queues through every step
// of their life), every read model verifies clean on each dialect, beside its running runner, also while the live
// projections move on during the check; then a row changed by hand, a row deleted and a row added in the live
// tables are each found and named by key, and the last verification is recorded.
func TestVerify(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := projectionstest.Ctx(t)
		env := kurrentdbtest.Start(t, member.Definitions(), sr.Definitions())
		list := readmodels.Projections(hash)
		runner := projectionstest.StartRunner(t, db, env.Source, list...)

		m1, m2 := uuid.New(), uuid.New()
		appendOne := func(stream event.StreamID, meta event.Metadata, evs ...any) uint64 {
			t.Helper()
			c, err := env.Store.Append(ctx, stream, esdb.Any{}, meta, evs...)
			if err != nil {
				t.Fatal(err)
			}
			return c.Position
		}
		memberMeta := func(id uuid.UUID) event.Metadata {
			m := projectionstest.Meta()
			m.Actor = event.Actor{ID: id.String(), Role: event.RoleMember}
			return m
		}
		for i, id := range []uuid.UUID{m1, m2} {
			appendOne(event.NewStreamID(member.Category, id), memberMeta(id), member.Registered{RegistrationID: uuid.New(),
				NIR: "18503123456" + string(rune('0'+i)) + "8", Key: 42, LastName: "Martin", FirstName: "Alice",
				BirthDate: "1985-03-12", Email: "alice@example.test"})
		}
		appendOne(event.NewStreamID(member.Category, m1), memberMeta(m1), member.AddressChanged{Line1: "17 chemin des Peupliers",
			PostalCode: "29300", City: "Quimperlé", Country: "FR", EffectiveFrom: "2026-01-06"})
		var synthetic uint64
		a, b, c, d, e := servicerequesttest.Story(t, &synthetic, m1, m2, uuid.New(), uuid.New(), uuid.New())
		var last uint64
		var group []event.Envelope
		flush := func() {
			if len(group) == 0 {
				return
			}
			evs := make([]any, len(group))
			for i, g := range group {
				evs[i] = g.Event
			}
			last = appendOne(group[0].Stream, group[0].Metadata, evs...)
			group = group[:0]
		}
		for _, ev := range servicerequesttest.All(a, b, c, d, e) {
			if len(group) > 0 && (group[0].Stream != ev.Stream || group[0].Metadata.CommandID != ev.Metadata.CommandID) {
				flush()
			}
			group = append(group, ev)
		}
		flush()
		runner.Wait(t, last)
		projectionstest.WaitStored(t, db, last) // Verify reads the stored checkpoints

		verify := func(p projections.Projection, opts projections.VerifyOptions) projections.Report {
			t.Helper()
			rep, err := projections.Verify(ctx, db, env.Source, p, opts)
			if err != nil {
				t.Fatalf("verify %s: %v", p.Name(), err)
			}
			return rep
		}
		byName := map[string]projections.Projection{}
		for _, p := range list {
			byName[p.Name()] = p
			rep := verify(p, projections.VerifyOptions{})
			if !rep.Clean() || rep.Position != last {
				t.Errorf("%s: %d differences at %d (want clean at %d): %+v", p.Name(), rep.Differences(), rep.Position, last, rep.Tables)
			}
		}
		for _, name := range []string{"accounts", "casequeues", "memberrequests", "casefiles", "streamactivity", "memberdirectory"} {
			if rep := verify(byName[name], projections.VerifyOptions{}); rep.Rows == 0 {
				t.Errorf("%s: no rows compared", name)
			}
		}

		// The live projection moves on during the check: the verdict is about the snapshot, and stays clean.
		moved := false
		rep := verify(byName["accounts"], projections.VerifyOptions{MaxBatch: 5, Progress: func(uint64, uint64) {
			if !moved {
				moved = true
				runner.Wait(t, appendOne(event.NewStreamID(member.Category, m2), memberMeta(m2), member.LoggedIn{SessionID: uuid.New()}))
			}
		}})
		if !moved || !rep.Clean() || rep.Position != last {
			t.Errorf("accounts while the live projection moves: moved %v, %d differences at %d (want clean at %d)", moved, rep.Differences(), rep.Position, last)
		}

		// Changed, deleted, added by hand in the live tables.
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(context.Background(), db.Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		exec("UPDATE accounts_v3 SET email = ? WHERE member_id = ?", "mallory@example.test", m1.String())
		exec("DELETE FROM casequeues_v3 WHERE request_id = ?", a.ID.String())
		exec("INSERT INTO accounts_v3_addresses (member_id, effective_from, line1, line2, postal_code, city, country, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			m2.String(), "2030-01-01", "1 rue inventée", "", "75001", "Paris", "FR", 9)
		accountsRep := verify(byName["accounts"], projections.VerifyOptions{})
		queuesRep := verify(byName["casequeues"], projections.VerifyOptions{})
		want := map[string][3][]string{ // table → missing, extra, changed
			"accounts":           {nil, nil, {"member_id=" + m1.String()}},
			"accounts_addresses": {nil, {"member_id=" + m2.String() + ", effective_from=2030-01-01"}, nil},
			"casequeues":         {{"request_id=" + a.ID.String()}, nil, nil},
		}
		for _, r := range []projections.Report{accountsRep, queuesRep} {
			if r.Clean() {
				t.Errorf("%s: the rows changed by hand are not found", r.Projection)
			}
			for _, tb := range r.Tables {
				w := want[tb.Table]
				if !slices.Equal(tb.Missing, w[0]) || !slices.Equal(tb.Extra, w[1]) || !slices.Equal(tb.Changed, w[2]) {
					t.Errorf("%s: missing %v extra %v changed %v; want %v", tb.Table, tb.Missing, tb.Extra, tb.Changed, w)
				}
			}
		}

		// The last verification is recorded, for the metrics.
		vs, err := projections.ReadVerifications(ctx, db.Reader())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]projections.Verification{}
		for _, v := range vs {
			got[v.Name] = v
		}
		if v := got["accounts"]; v.Clean != 0 || v.Differences != 2 || time.Since(v.VerifiedAt) > time.Minute {
			t.Errorf("accounts' last verification: %+v", v)
		}
		if v := got["streamactivity"]; v.Clean != 1 || v.Rows == 0 {
			t.Errorf("streamactivity's last verification: %+v", v)
		}
		if len(vs) != len(list) {
			t.Errorf("%d verifications recorded, want %d", len(vs), len(list))
		}
	})
}
