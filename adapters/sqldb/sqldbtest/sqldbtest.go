// Package sqldbtest runs read-model tests on both dialects: every test given to Each runs once on a fresh SQLite file
// and once on a fresh PostgreSQL database.
//
// The PostgreSQL server comes from the environment variable named by PostgresURLEnv, which the test command sets:
//
//	go run ./tests/testenv -- go test ./...
//
// Without it the PostgreSQL subtests fail (they are never skipped): a green run always means both dialects passed.
//
// This is a test-support package: only _test.go files, tests/... and other test-support packages may import it (the
// architecture test checks that), which is also why it may read the environment.
package sqldbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/lib/pq" // the admin connection creating and dropping databases

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// PostgresURLEnv names the environment variable holding the superuser URL of the test PostgreSQL server.
const PostgresURLEnv = "DOSSIER_TEST_POSTGRES_URL"

// Target is one fresh, empty database: Open may be called several times to get independent handles on it (to
// simulate a second replica or a restart).
type Target struct {
	Dialect sqldb.Dialect
	// DSN is the SQLite file path or the PostgreSQL URL of the database.
	DSN string
}

// Open opens a new handle on the target's database; it is closed when the test ends.
func (tg Target) Open(tb testing.TB) *sqldb.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, tg.Dialect, tg.DSN, sqldb.Options{})
	if err != nil {
		tb.Fatalf("sqldbtest: open %s database: %v", tg.Dialect, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("sqldbtest: close %s database: %v", tg.Dialect, err)
		}
	})
	return db
}

// Each runs fn as a subtest named after each dialect, each time with a fresh, empty database.
func Each(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	EachTarget(t, func(t *testing.T, tg Target) {
		fn(t, tg.Open(t))
	})
}

// EachTarget is Each for tests that need several handles on the same database.
func EachTarget(t *testing.T, fn func(t *testing.T, tg Target)) {
	t.Helper()
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			fn(t, NewTarget(t, d))
		})
	}
}

// NewTarget creates a fresh, empty database of the given dialect, removed when the test or benchmark ends.
func NewTarget(tb testing.TB, d sqldb.Dialect) Target {
	tb.Helper()
	switch d {
	case sqldb.SQLite:
		return Target{Dialect: d, DSN: filepath.Join(tb.TempDir(), "readmodel.db")}
	case sqldb.Postgres:
		return Target{Dialect: d, DSN: newPostgresDatabase(tb)}
	}
	tb.Fatalf("sqldbtest: unknown dialect %q", d)
	return Target{}
}

func newPostgresDatabase(tb testing.TB) string {
	tb.Helper()
	adminURL := os.Getenv(PostgresURLEnv)
	if adminURL == "" {
		tb.Fatalf("sqldbtest: %s is not set, so the PostgreSQL half of this test cannot run. "+
			"Run the tests through the test environment, which starts a throwaway PostgreSQL: "+
			"go run ./tests/testenv -- go test ./...", PostgresURLEnv)
	}
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("sqldbtest: %s must be a postgres:// URL", PostgresURLEnv)
	}
	var suffix [8]byte
	_, _ = rand.Read(suffix[:])
	name := "dossier_test_" + hex.EncodeToString(suffix[:])

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		tb.Fatalf("sqldbtest: connect to the test PostgreSQL: %v", err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("sqldbtest: create database: %v", err)
	}
	tb.Cleanup(func() { dropPostgresDatabase(tb, adminURL, name) })

	dbURL := *u
	dbURL.Path = "/" + name
	return dbURL.String()
}

// dropPostgresDatabase runs after the handles opened by Target.Open are closed (cleanups run last-in first-out);
// FORCE ends any session a test left behind.
func dropPostgresDatabase(tb testing.TB, adminURL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		tb.Errorf("sqldbtest: drop database %s: %v", name, err)
		return
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
		tb.Errorf("sqldbtest: drop database %s: %v", name, err)
	}
}

// Outage makes the target's database unreachable for the leases, as a server restart does, until the returned
// function is called. On PostgreSQL every session on the database is ended and new ones are refused
// (ALLOW_CONNECTIONS false: superusers too), so held leases are lost and new ones fail to connect; on SQLite, which
// has no server, the lease directory becomes unusable (a file stands in its place), so new leases fail with an error
// other than "held" while held ones stay.
func (tg Target) Outage(tb testing.TB) (restore func()) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch tg.Dialect {
	case sqldb.SQLite:
		dir := tg.DSN + ".leases"
		if err := os.Rename(dir, dir+".away"); err != nil && !os.IsNotExist(err) {
			tb.Fatalf("sqldbtest: outage: %v", err)
		}
		if err := os.WriteFile(dir, nil, 0o600); err != nil {
			tb.Fatalf("sqldbtest: outage: %v", err)
		}
		return func() {
			if err := os.Remove(dir); err != nil {
				tb.Errorf("sqldbtest: end of outage: %v", err)
			}
			if err := os.Rename(dir+".away", dir); err != nil && !os.IsNotExist(err) {
				tb.Errorf("sqldbtest: end of outage: %v", err)
			}
		}
	case sqldb.Postgres:
		u, err := url.Parse(tg.DSN)
		if err != nil {
			tb.Fatal(err)
		}
		name := u.Path[1:]
		admin := adminDB(tb)
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false"); err != nil {
			tb.Fatalf("sqldbtest: outage: %v", err)
		}
		if _, err := admin.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name); err != nil {
			tb.Fatalf("sqldbtest: outage: %v", err)
		}
		return func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			admin := adminDB(tb)
			defer admin.Close()
			if _, err := admin.ExecContext(ctx, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true"); err != nil {
				tb.Errorf("sqldbtest: end of outage: %v", err)
			}
		}
	}
	tb.Fatalf("sqldbtest: unknown dialect %q", tg.Dialect)
	return nil
}

func adminDB(tb testing.TB) *sql.DB {
	tb.Helper()
	admin, err := sql.Open("postgres", os.Getenv(PostgresURLEnv))
	if err != nil {
		tb.Fatalf("sqldbtest: connect to the test PostgreSQL: %v", err)
	}
	return admin
}
