package sqldb_test

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

func migration(up, down string) *fstest.MapFile {
	return &fstest.MapFile{Data: []byte("-- +goose Up\n" + up + "\n-- +goose Down\n" + down + "\n")}
}

func membersMigrations() fstest.MapFS {
	return fstest.MapFS{
		"00001_members.sql": migration(
			"CREATE TABLE members (id TEXT PRIMARY KEY, revision BIGINT NOT NULL);",
			"DROP TABLE members;"),
		"00002_members_email.sql": migration(
			"ALTER TABLE members ADD COLUMN email TEXT;",
			"ALTER TABLE members DROP COLUMN email;"),
	}
}

func TestMigrateAppliesPendingVersionsOnce(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		fsys := membersMigrations()
		before, err := db.MigrationStatus(ctx, "members", fsys)
		if err != nil {
			t.Fatalf("MigrationStatus: %v", err)
		}
		if before.Current != 0 || before.Latest != 2 || !before.Pending() {
			t.Fatalf("status before = %+v, want 0 of 2 pending", before)
		}
		st, err := db.Migrate(ctx, "members", fsys)
		if err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if st != (sqldb.MigrationStatus{Owner: "members", Current: 2, Latest: 2}) {
			t.Fatalf("status = %+v, want 2 of 2", st)
		}
		mustExec(t, db, "INSERT INTO members (id, revision, email) VALUES ('0b5f3e2c-8f1d-4f4e-9a57-2d1f0a6c9b31', 0, 'a@b')")

		// Run again: nothing to do. A new file later: only it is applied.
		if st, err := db.Migrate(ctx, "members", fsys); err != nil || st.Current != 2 {
			t.Fatalf("second Migrate = %+v, %v", st, err)
		}
		fsys["00003_members_index.sql"] = migration(
			"CREATE INDEX members_email ON members (email);", "DROP INDEX members_email;")
		if st, err := db.Migrate(ctx, "members", fsys); err != nil || st.Current != 3 || st.Pending() {
			t.Fatalf("Migrate with a new file = %+v, %v", st, err)
		}
		if n := count(t, db, "members"); n != 1 {
			t.Fatalf("members rows = %d, want the row to survive later migrations", n)
		}
	})
}

func TestMigrateKeepsOwnersApart(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := db.Migrate(ctx, "members", membersMigrations()); err != nil {
			t.Fatalf("Migrate members: %v", err)
		}
		// Another owner numbers its files from 1 too: its own version table keeps them apart.
		requests := fstest.MapFS{"00001_requests.sql": migration(
			"CREATE TABLE requests (id TEXT PRIMARY KEY);", "DROP TABLE requests;")}
		st, err := db.Migrate(ctx, "service_requests", requests)
		if err != nil {
			t.Fatalf("Migrate service_requests: %v", err)
		}
		if st.Current != 1 || st.Latest != 1 {
			t.Fatalf("service_requests status = %+v, want 1 of 1", st)
		}
		if n := count(t, db, "requests"); n != 0 {
			t.Fatalf("requests table: %d rows", n)
		}
		if n := count(t, db, sqldb.VersionTable("members")); n < 2 {
			t.Fatalf("%s has %d rows, want the members versions", sqldb.VersionTable("members"), n)
		}
	})
}

func TestMigrateUsesTheDialectsDirectoryWhenSplit(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		fsys := fstest.MapFS{
			"sqlite/00001_seq.sql": migration(
				"CREATE TABLE seq (id INTEGER PRIMARY KEY AUTOINCREMENT, dialect TEXT NOT NULL DEFAULT 'sqlite');",
				"DROP TABLE seq;"),
			"postgres/00001_seq.sql": migration(
				"CREATE TABLE seq (id BIGSERIAL PRIMARY KEY, dialect TEXT NOT NULL DEFAULT 'postgres');",
				"DROP TABLE seq;"),
		}
		if _, err := db.Migrate(ctx, "seq", fsys); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		mustExec(t, db, "INSERT INTO seq DEFAULT VALUES")
		var got string
		if err := db.GetContext(ctx, &got, "SELECT dialect FROM seq"); err != nil || got != string(db.Dialect()) {
			t.Fatalf("dialect column = %q, %v; want %q", got, err, db.Dialect())
		}
		if _, err := db.Migrate(ctx, "seq2", fstest.MapFS{"sqlite/00001_x.sql": fsys["sqlite/00001_seq.sql"]}); db.Dialect() == sqldb.Postgres && err == nil {
			t.Fatal("split migrations without a postgres directory accepted on PostgreSQL")
		}
	})
}

func TestMigrateStopsAtABrokenMigration(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		fsys := membersMigrations()
		fsys["00003_broken.sql"] = migration("CREATE TABLE oops (;", "SELECT 1;")
		if _, err := db.Migrate(ctx, "members", fsys); err == nil {
			t.Fatal("Migrate with a broken migration returned nil")
		}
		st, err := db.MigrationStatus(ctx, "members", fsys)
		if err != nil {
			t.Fatalf("MigrationStatus: %v", err)
		}
		if st.Current != 2 || st.Latest != 3 {
			t.Fatalf("status = %+v, want 2 applied of 3", st)
		}
	})
}

func TestMigrateRejectsBadOwnerNames(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		for _, owner := range []string{"", "Members", "members; DROP TABLE x", "1members"} {
			if _, err := db.Migrate(context.Background(), owner, membersMigrations()); err == nil {
				t.Errorf("owner %q accepted", owner)
			}
		}
	})
}

func TestConcurrentMigrateFromTwoReplicasAppliesOnce(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		ctx := context.Background()
		replicas := []*sqldb.DB{tg.Open(t), tg.Open(t)}
		var wg sync.WaitGroup
		errs := make([]error, len(replicas))
		for i, db := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = db.Migrate(ctx, "members", membersMigrations())
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
		}
		var applied int
		if err := replicas[0].GetContext(ctx, &applied,
			"SELECT COUNT(*) FROM "+sqldb.VersionTable("members")+" WHERE version_id > 0"); err != nil {
			t.Fatal(err)
		}
		if applied != 2 {
			t.Fatalf("%d versions recorded, want each of the 2 applied once", applied)
		}
	})
}
