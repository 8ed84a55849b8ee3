package memberrequests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
	srtest "github.com/msa-dossier/dossier/domain/servicerequest/servicerequesttest"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// BenchmarkMemberRequestList models GET /v1/requests under the goal's mix (`dossier bench http`): the first page (50)
// of a random member's requests, then its JSON. Two shapes of the table, 6,000 requests each, submitted interleaved
// across members as the portal receives them and folded through the projection in small batches (the stored layout is
// the projection's): 30 members holding 200 requests each (the load generator's members by the end of a run), and
// 1,200 members holding 5 (a real member holds a few). Of every ten requests six are just received, two taken up, one
// awaiting information (its dates computed at the read) and one approved.
//
// Before each read a small transaction commits to another table of the same database: in `dossier serve` the
// projections commit hundreds of times a second, so every read finds the WAL changed and SQLite has dropped the
// reader connection's page cache (the read pays its page reads again). The write is not counted in the figures:
// cpu-us/op is the process's CPU time (getrusage) spent in the reads and encodings only, p50-us and p99-us their wall
// time; page-cpu-us/op and json-cpu-us/op split cpu-us/op. ns/op and allocs/op are Go's, writes included.
//
// Each variant reads a database of its own, filled with the same events, and the variants take turns at every
// iteration (A B A B: the machine's other load weighs on each alike); their JSON must be the same. "before" is
// version 4's layout read as version 4 read it (the same-run baseline), "now" this version; "v5-read-before" and
// "v4-read-now" are the halves (the layout alone, the read alone). The …/get sub-benchmarks time Get (GET
// /v1/requests/{id}) before and now. The fold's CPU per event of each layout is logged (-v).
//
//	go test -run '^$' -bench MemberRequestList -benchtime 1500x -count 3 ./projections/memberrequests
//	go run ./tests/testenv -- go test -run '^$' -bench MemberRequestList -benchtime 1000x ./projections/memberrequests
//
// (the second adds PostgreSQL). Read before-cpu-us/op against now-cpu-us/op.
func BenchmarkMemberRequestList(b *testing.B) {
	dialects := []sqldb.Dialect{sqldb.SQLite}
	if os.Getenv(sqldbtest.PostgresURLEnv) != "" {
		dialects = append(dialects, sqldb.Postgres)
	}
	for _, d := range dialects {
		for _, shape := range []struct{ members, each int }{{30, 200}, {1200, 5}} {
			members, owners, batches := requestHistory(b, shape.members, shape.each)
			// Each layout in a database of its own, filled with the same events; the fold's CPU per event is logged
			// (the layout must not make the writes dearer to an extent that matters).
			layout := func(p projections.Projection) (*sqldb.DB, func()) {
				db := sqldbtest.NewTarget(b, d).Open(b)
				projectionstest.Setup(b, db, p)
				events, cpu := 0, cpuTime()
				for _, batch := range batches {
					projectionstest.Apply(b, db, p, batch...)
					events += len(batch)
				}
				b.Logf("%s %dx%d, version %d: %d events folded, %.1f µs of CPU each", d, shape.members, shape.each,
					p.Version(), events, float64(cpuTime()-cpu)/float64(events)/1e3)
				return db, noiseWriter(b, db)
			}
			now := fixed(srtest.T0.AddDate(0, 0, 30))
			v4, noise4 := layout(&Projection{Meta: projections.NewMeta(Name, 4, migrationsBefore(b, 4))})
			v5, noise5 := layout(New())
			q4, q5 := NewQueries(v4, now), NewQueries(v5, now)
			variants := []listVariant{
				// The same-run baseline: version 4's layout read as version 4 read it.
				{"before", noise4, func(ctx context.Context, m uuid.UUID) ([]Request, string, error) {
					return q4.pageBefore(ctx, m)
				}},
				{"v5-read-before", noise5, func(ctx context.Context, m uuid.UUID) ([]Request, string, error) {
					return q5.pageBefore(ctx, m)
				}},
				{"v4-read-now", noise4, func(ctx context.Context, m uuid.UUID) ([]Request, string, error) {
					return q4.Page(ctx, m, projections.Page{})
				}},
				{"now", noise5, func(ctx context.Context, m uuid.UUID) ([]Request, string, error) {
					return q5.Page(ctx, m, projections.Page{})
				}},
			}
			b.Run(fmt.Sprintf("%s/%dx%d", d, shape.members, shape.each), func(b *testing.B) {
				benchList(b, members, variants, min(50, shape.each))
			})
			// GET /v1/requests/{id}: one request, found by its id, before and now.
			get := func(q *Queries, before bool) func(context.Context, uuid.UUID) ([]Request, string, error) {
				return func(ctx context.Context, id uuid.UUID) ([]Request, string, error) {
					var r Request
					var err error
					if before {
						r, err = q.getBefore(ctx, owners[id], id)
					} else {
						r, err = q.Get(ctx, owners[id], id)
					}
					return []Request{r}, "", err
				}
			}
			requests := slices.Collect(maps.Keys(owners))
			slices.SortFunc(requests, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
			b.Run(fmt.Sprintf("%s/%dx%d/get", d, shape.members, shape.each), func(b *testing.B) {
				benchList(b, requests, []listVariant{{"before", noise4, get(q4, true)}, {"now", noise5, get(q5, false)}}, 1)
			})
		}
	}
}

// selectBefore is selectRequest as version 4 had it: every column.
const selectBefore = "SELECT r.request_id, r.member_id, r.reference, r.service_code, r.catalog_version, " +
	"r.status, r.received_at, r.implicit_decision_on, r.silence_outcome, r.time_zone, r.paused_since, " +
	"r.expected_items, r.expected_deadline, r.decision, r.decision_reason, r.decided_at, r.closed_reason, " +
	"r.closed_at, r.clock, r.revision, r.last_position, r.service_in_charge, r.author_name, r.author_position " +
	"FROM " + Name + " r"

// pageBefore is the first page of member's requests as version 4 read it (every column, mapped by sqlx): the
// benchmark's same-run baseline.
func (q *Queries) pageBefore(ctx context.Context, member uuid.UUID) ([]Request, string, error) {
	var rows []row
	if err := sqlx.SelectContext(ctx, q.db, &rows, q.db.Rebind(selectBefore+
		" WHERE r.member_id = ? ORDER BY r.received_at DESC, r.request_id DESC LIMIT ?"), member.String(), 51); err != nil {
		return nil, "", err
	}
	now := q.now()
	out := make([]Request, len(rows))
	for i, r := range rows {
		req, err := toRequest(r, now)
		if err != nil {
			return nil, "", err
		}
		out[i] = req
	}
	page, next := projections.Trim(out, projections.Page{Limit: 50}, 50, func(r Request) string {
		return projections.EncodeCursor(r.ReceivedAt.UTC().Format(time.RFC3339Nano), r.ID.String())
	})
	return page, next, nil
}

// getBefore is Get as version 4 read it (every column, mapped by sqlx).
func (q *Queries) getBefore(ctx context.Context, member, id uuid.UUID) (Request, error) {
	var r row
	if err := sqlx.GetContext(ctx, q.db, &r, q.db.Rebind(selectBefore+" WHERE r.request_id = ? AND r.member_id = ?"),
		id.String(), member.String()); err != nil {
		return Request{}, err
	}
	return toRequest(r, q.now())
}

// listVariant is one way of reading a page of a member's requests, and the write that precedes each of its reads.
type listVariant struct {
	name  string
	noise func()
	page  func(ctx context.Context, member uuid.UUID) ([]Request, string, error)
}

// benchList reads b.N pages of random members' requests with each variant in turn (A B A B: the machine's other load
// weighs on each alike), each read after a write to another table of the variant's database (see
// BenchmarkMemberRequestList), checks that the variants answer the same JSON, and reports per variant the reads' CPU
// and latency.
func benchList(b *testing.B, members []uuid.UUID, variants []listVariant, want int) {
	ctx := projectionstest.Ctx(b)
	rng := rand.New(rand.NewPCG(1, 2))
	type figures struct {
		lat              []time.Duration
		pageCPU, jsonCPU time.Duration
	}
	figs := make([]figures, len(variants))
	var first []byte
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		member := members[rng.IntN(len(members))]
		for i, v := range variants {
			v.noise()
			c0, t0 := cpuTime(), time.Now()
			reqs, next, err := v.page(ctx, member)
			c1 := cpuTime()
			if err != nil || len(reqs) != want {
				b.Fatalf("%s: page of %s: %d requests, %v", v.name, member, len(reqs), err)
			}
			body, err := json.Marshal(struct {
				Requests []Request `json:"requests"`
				Next     *string   `json:"next"`
			}{reqs, &next})
			if err != nil {
				b.Fatal(err)
			}
			f := &figs[i]
			f.lat = append(f.lat, time.Since(t0))
			c2 := cpuTime()
			f.pageCPU += c1 - c0
			f.jsonCPU += c2 - c1
			if i == 0 {
				first = body
			} else if !bytes.Equal(body, first) {
				b.Fatalf("%s answers\n%s\n%s answers\n%s", v.name, body, variants[0].name, first)
			}
		}
	}
	b.StopTimer()
	for i, v := range variants {
		f := figs[i]
		slices.Sort(f.lat)
		n := float64(len(f.lat))
		b.ReportMetric(float64(f.pageCPU+f.jsonCPU)/n/1e3, v.name+"-cpu-us/op")
		b.ReportMetric(float64(f.pageCPU)/n/1e3, v.name+"-page-cpu-us/op")
		b.ReportMetric(float64(f.jsonCPU)/n/1e3, v.name+"-json-cpu-us/op")
		b.ReportMetric(float64(f.lat[len(f.lat)/2])/1e3, v.name+"-p50-us")
		b.ReportMetric(float64(f.lat[min(len(f.lat)-1, len(f.lat)*99/100)])/1e3, v.name+"-p99-us")
	}
}

// migrationsBefore returns the projection's migrations up to version's: the layout of an earlier version, for a
// same-run baseline.
func migrationsBefore(b testing.TB, version int) fs.FS {
	b.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(migrations, "migrations", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if n, _ := strconv.Atoi(strings.SplitN(filepath.Base(path), "_", 2)[0]); n >= version {
			return nil
		}
		data, err := fs.ReadFile(migrations, path)
		out[path] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// requestHistory builds the events of members × each requests, in the batches the runner would commit, and returns
// the members and the member of each request. The requests are submitted one every 30 s, member after member (each member's rows are as scattered
// as the portal leaves them), and their later events follow an hour later; batches of about 60 events, as the runner
// commits them live.
func requestHistory(b *testing.B, members, each int) ([]uuid.UUID, map[uuid.UUID]uuid.UUID, [][]event.Envelope) {
	b.Helper()
	ms := make([]uuid.UUID, members)
	for i := range ms {
		ms[i] = uuid.New()
	}
	worker := uuid.New()
	var (
		pos     uint64
		batch   []event.Envelope
		batches [][]event.Envelope
		owners  = map[uuid.UUID]uuid.UUID{}
	)
	for i := range members * each {
		at := srtest.T0.Add(time.Duration(i) * 30 * time.Second)
		r := srtest.Submit(b, &pos, ms[i%members], srtest.C2S, at)
		owners[r.ID] = r.Member
		switch later := at.Add(time.Hour); i % 10 {
		case 1, 2:
			r.Claim(later, worker)
		case 3:
			r.Claim(later, worker)
			r.AskInformation(later, later.AddDate(0, 0, 40))
		case 4:
			r.Claim(later, worker)
			r.Decide(later, sr.Approved, "Conditions remplies.")
		}
		batch = append(batch, r.Events...)
		if len(batch) >= 60 || i == members*each-1 {
			srtest.SortByPosition(batch)
			batches = append(batches, batch)
			batch = nil
		}
	}
	return ms, owners, batches
}

// noiseWriter creates a table beside the read model and returns a function committing one row to it.
func noiseWriter(b *testing.B, db *sqldb.DB) func() {
	b.Helper()
	ctx := projectionstest.Ctx(b)
	if _, err := db.ExecContext(ctx, "CREATE TABLE bench_noise (n BIGINT NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	insert := db.Rebind("INSERT INTO bench_noise (n) VALUES (?)")
	var n int64
	return func() {
		n++
		if _, err := db.ExecContext(ctx, insert, n); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the process's CPU time so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMemberRequestFold folds the 30 × 200 history of BenchmarkMemberRequestList (22,200 events in batches of
// ~60) into fresh tables of version 4's layout and of this version's, alternately (A B A B), and reports the CPU per
// event of each (medians over b.N rounds): what the layout costs the writer.
//
//	go test -run '^$' -bench MemberRequestFold -benchtime 5x ./projections/memberrequests
func BenchmarkMemberRequestFold(b *testing.B) {
	_, _, batches := requestHistory(b, 30, 200)
	events := 0
	for _, batch := range batches {
		events += len(batch)
	}
	layouts := []struct {
		name string
		p    projections.Projection
	}{
		{"v4", &Projection{Meta: projections.NewMeta(Name, 4, migrationsBefore(b, 4))}},
		{"v5", New()},
	}
	perEvent := make([][]float64, len(layouts))
	b.ResetTimer()
	for range b.N {
		for i, l := range layouts {
			b.StopTimer()
			db := sqldbtest.NewTarget(b, sqldb.SQLite).Open(b)
			projectionstest.Setup(b, db, l.p)
			b.StartTimer()
			cpu := cpuTime()
			for _, batch := range batches {
				projectionstest.Apply(b, db, l.p, batch...)
			}
			perEvent[i] = append(perEvent[i], float64(cpuTime()-cpu)/float64(events)/1e3)
		}
	}
	b.StopTimer()
	for i, l := range layouts {
		slices.Sort(perEvent[i])
		b.ReportMetric(perEvent[i][len(perEvent[i])/2], l.name+"-cpu-us/event")
	}
}
