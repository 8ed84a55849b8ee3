package pgtemp_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/msa-dossier/dossier/adapters/sqldb/pgtemp"
)

func TestStartServesThenStopRemovesEverything(t *testing.T) {
	ctx := context.Background()
	srv, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })

	db, err := sql.Open("postgres", srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	var fsync, user string
	if err := db.QueryRowContext(ctx, "SELECT current_setting('fsync'), current_user").Scan(&fsync, &user); err != nil {
		t.Fatalf("query: %v", err)
	}
	if fsync != "on" || user != pgtemp.Superuser {
		t.Errorf("fsync=%q user=%q, want on and %q", fsync, user, pgtemp.Superuser)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id BIGINT PRIMARY KEY)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	_ = db.Close()

	dir, port := srv.Dir(), srv.Port()
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("directory %s still there after Stop: %v", dir, err)
	}
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err == nil {
		_ = conn.Close()
		t.Errorf("port %d still accepts connections after Stop", port)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestTwoServersRunSideBySide(t *testing.T) {
	ctx := context.Background()
	a, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		t.Fatalf("Start a: %v", err)
	}
	defer a.Stop()
	b, err := pgtemp.Start(ctx, pgtemp.Options{})
	if err != nil {
		t.Fatalf("Start b: %v", err)
	}
	defer b.Stop()
	if a.Port() == b.Port() || a.Dir() == b.Dir() {
		t.Fatalf("servers share port or dir: %d %d %s %s", a.Port(), b.Port(), a.Dir(), b.Dir())
	}
}

func TestFindBinDir(t *testing.T) {
	dir, err := pgtemp.FindBinDir()
	if err != nil {
		t.Fatalf("FindBinDir: %v", err)
	}
	for _, name := range []string{"initdb", "postgres", "pg_ctl"} {
		if _, err := os.Stat(dir + "/" + name); err != nil {
			t.Errorf("%s missing in %s: %v", name, dir, err)
		}
	}
}

func TestStartWithWrongBinDirFails(t *testing.T) {
	_, err := pgtemp.Start(context.Background(), pgtemp.Options{BinDir: t.TempDir()})
	if !errors.Is(err, pgtemp.ErrNoBinaries) {
		t.Fatalf("err = %v, want ErrNoBinaries", err)
	}
}

func TestStartRemovesDirectoriesOfKilledRunsOnly(t *testing.T) {
	// A run killed before Stop leaves its directory, with an owner file nobody locks any more.
	abandoned, err := os.MkdirTemp("", "pgtemp-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(abandoned, "owner.lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A live run holds the lock on its owner file.
	live, err := os.MkdirTemp("", "pgtemp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(live) })
	lock, err := os.Create(filepath.Join(live, "owner.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}

	srv, err := pgtemp.Start(context.Background(), pgtemp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if _, err := os.Stat(abandoned); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("abandoned directory still there: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live run's directory was removed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(srv.Dir(), "owner.lock")); err != nil {
		t.Errorf("the new server has no owner file: %v", err)
	}
}
