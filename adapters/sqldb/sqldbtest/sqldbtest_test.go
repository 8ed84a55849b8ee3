package sqldbtest_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

func TestEachRunsOnBothDialectsWithFreshDatabases(t *testing.T) {
	var seen []sqldb.Dialect
	var pgDatabases []string
	for range 2 {
		sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
			seen = append(seen, db.Dialect())
			// Fails if a previous run's table were still there.
			if _, err := db.ExecContext(context.Background(), "CREATE TABLE fresh (id BIGINT PRIMARY KEY)"); err != nil {
				t.Fatalf("create table in a fresh database: %v", err)
			}
			if db.Dialect() == sqldb.Postgres {
				var name string
				if err := db.GetContext(context.Background(), &name, "SELECT current_database()"); err != nil {
					t.Fatal(err)
				}
				pgDatabases = append(pgDatabases, name)
			}
		})
	}
	want := []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres, sqldb.SQLite, sqldb.Postgres}
	if strings.Join(dialectNames(seen), ",") != strings.Join(dialectNames(want), ",") {
		t.Fatalf("ran on %v, want %v", seen, want)
	}
	if len(pgDatabases) != 2 || pgDatabases[0] == pgDatabases[1] {
		t.Fatalf("PostgreSQL databases %v, want two distinct ones", pgDatabases)
	}
	// Each subtest's database is dropped when the subtest ends.
	admin, err := sqldb.Open(context.Background(), sqldb.Postgres, os.Getenv(sqldbtest.PostgresURLEnv), sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var left int
	if err := admin.GetContext(context.Background(), &left,
		"SELECT COUNT(*) FROM pg_database WHERE datname = $1 OR datname = $2", pgDatabases[0], pgDatabases[1]); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d test databases left behind", left)
	}
}

func TestTargetOpenGivesHandlesOnTheSameDatabase(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		ctx := context.Background()
		a, b := tg.Open(t), tg.Open(t)
		if _, err := a.ExecContext(ctx, "CREATE TABLE shared (id BIGINT PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.ExecContext(ctx, "INSERT INTO shared (id) VALUES (1)"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := b.GetContext(ctx, &n, "SELECT COUNT(*) FROM shared"); err != nil || n != 1 {
			t.Fatalf("second handle sees %d rows, %v", n, err)
		}
	})
}

func TestNewTargetForABenchmarkStyleCaller(t *testing.T) {
	tg := sqldbtest.NewTarget(t, sqldb.Postgres)
	u, err := url.Parse(tg.DSN)
	if err != nil || !strings.HasPrefix(u.Path, "/dossier_test_") {
		t.Fatalf("DSN path %q, %v", u.Path, err)
	}
	if tg.Open(t).Dialect() != sqldb.Postgres {
		t.Fatal("wrong dialect")
	}
}

// The PostgreSQL half must fail, never skip, when the test environment is missing: run this package's first test
// again in a child process without the variable and read its verdict.
func TestPostgresFailsLoudlyWithoutTheTestEnvironment(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestEachRunsOnBothDialectsWithFreshDatabases$", "-test.v")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, sqldbtest.PostgresURLEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("child passed without %s:\n%s", sqldbtest.PostgresURLEnv, out)
	}
	text := string(out)
	for _, want := range []string{
		"--- PASS: TestEachRunsOnBothDialectsWithFreshDatabases/sqlite",
		"--- FAIL: TestEachRunsOnBothDialectsWithFreshDatabases/postgres",
		sqldbtest.PostgresURLEnv + " is not set",
		"go run ./tests/testenv -- go test ./...",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("child output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "--- SKIP") {
		t.Errorf("child skipped a test:\n%s", text)
	}
}

func dialectNames(ds []sqldb.Dialect) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d)
	}
	return out
}
