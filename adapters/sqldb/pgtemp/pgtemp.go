// Package pgtemp starts a throwaway PostgreSQL server from the binaries installed on the machine: a fresh cluster
// in a temporary directory, trust authentication, a free port on 127.0.0.1 and its unix socket inside the
// directory. Stop shuts it down and removes everything. Tests and benchmarks use it; no Docker, no service to start
// by hand.
//
// PostgreSQL refuses to run as root, so when the current process is root the server runs as the unprivileged
// "postgres" user if the machine has one, else "nobody", and the temporary directory is given to that user.
package pgtemp

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/lib/pq" // registers the "postgres" driver used to wait for readiness
)

// Superuser is the role initdb creates; it needs no password (trust authentication).
const Superuser = "postgres"

// Options tune Start. The zero value is ready to use.
type Options struct {
	// BinDir holds initdb, postgres and pg_ctl; empty means `pg_config --bindir`, then /usr/lib/postgresql/*/bin
	// (newest first).
	BinDir string
	// StartTimeout bounds initdb plus startup (default 60s).
	StartTimeout time.Duration
	// Settings are extra server settings passed as -c name=value.
	Settings map[string]string
	// Logger receives lifecycle messages; nil discards them.
	Logger *slog.Logger
}

// Server is a running throwaway PostgreSQL.
type Server struct {
	dir     string
	binDir  string
	port    int
	cred    *syscall.Credential
	cmd     *exec.Cmd
	exited  chan struct{}
	logFile *os.File
	owner   *os.File // flocked for the server's lifetime: see removeAbandoned
	logger  *slog.Logger

	settings map[string]string

	stopOnce sync.Once
	stopErr  error
}

// ErrNoBinaries is returned when no PostgreSQL server binaries can be found.
var ErrNoBinaries = errors.New("pgtemp: PostgreSQL server binaries not found")

// FindBinDir locates the directory holding initdb, postgres and pg_ctl.
func FindBinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// Newest major version first: "9.6" sorts after "15" as text, so compare numerically.
	sortByVersionDesc(matches)
	candidates = append(candidates, matches...)
	for _, dir := range candidates {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w (install postgresql, or set Options.BinDir)", ErrNoBinaries)
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres", "pg_ctl"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

func sortByVersionDesc(dirs []string) {
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	for i := 1; i < len(dirs); i++ {
		for j := i; j > 0 && version(dirs[j]) > version(dirs[j-1]); j-- {
			dirs[j], dirs[j-1] = dirs[j-1], dirs[j]
		}
	}
}

// Start creates a cluster in a new temporary directory and starts the server; it returns once the server accepts
// connections. Call Stop when done, also on failure paths of the caller.
func Start(ctx context.Context, opts Options) (*Server, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	binDir := opts.BinDir
	if binDir == "" {
		var err error
		if binDir, err = FindBinDir(); err != nil {
			return nil, err
		}
	} else if !hasServerBinaries(binDir) {
		return nil, fmt.Errorf("%w in %s", ErrNoBinaries, binDir)
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	removeAbandoned(logger)
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	s := &Server{dir: dir, binDir: binDir, cred: cred, logger: logger, settings: opts.Settings}
	if s.owner, err = lockOwner(dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := s.start(ctx, opts.Settings); err != nil {
		_ = s.Stop()
		return nil, err
	}
	logger.Info("throwaway postgresql started", slog.Int("port", s.port), slog.String("dir", dir))
	return s, nil
}

const (
	dirPrefix = "pgtemp-"
	ownerFile = "owner.lock"
)

// lockOwner takes an exclusive flock on the directory's owner file, held until Stop or the death of this process.
// The file is locked under a temporary name and only then renamed into place, so that nobody ever sees an owner file
// that is not locked yet.
func lockOwner(dir string) (*os.File, error) {
	tmp := filepath.Join(dir, ownerFile+".new")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("pgtemp: lock %s: %w", dir, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, ownerFile)); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	return f, nil
}

// removeAbandoned deletes the directories of earlier servers whose process was killed before it could Stop (their
// server stopped with them, through the parent-death signal). A directory whose owner file can be locked has no live
// owner; one without an owner file is still being set up, or not ours, and is left alone.
func removeAbandoned(logger *slog.Logger) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		f, err := os.OpenFile(filepath.Join(dir, ownerFile), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			_ = f.Close() // a live server's
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			_ = f.Close() // its server still runs (or crashed without cleanup): leave it to a human
			continue
		}
		if err := os.RemoveAll(dir); err == nil {
			logger.Info("removed an abandoned throwaway postgresql directory", slog.String("dir", dir))
		}
		_ = f.Close()
	}
}

// serverCredential returns the identity to run the server under: nil (the current user) unless we are root.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("pgtemp: running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")
}

func (s *Server) start(ctx context.Context, settings map[string]string) error {
	dataDir := filepath.Join(s.dir, "data")
	sockDir := filepath.Join(s.dir, "sock")
	if err := os.Mkdir(sockDir, 0o700); err != nil {
		return fmt.Errorf("pgtemp: %w", err)
	}
	if s.cred != nil {
		for _, p := range []string{s.dir, sockDir} {
			if err := os.Chown(p, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
				return fmt.Errorf("pgtemp: give %s to the server user: %w", p, err)
			}
		}
	}
	logFile, err := os.Create(filepath.Join(s.dir, "postgres.log"))
	if err != nil {
		return fmt.Errorf("pgtemp: %w", err)
	}
	s.logFile = logFile

	// --no-sync only skips initdb's final flush of a cluster that is thrown away anyway; the server itself runs with
	// fsync on, as in production, so its figures stay honest.
	initdb := s.command(ctx, "initdb", "-D", dataDir, "-U", Superuser, "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync")
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtemp: initdb: %w: %s", err, lastLines(out, 10))
	}

	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		err = s.startServer(ctx, dataDir, sockDir, port, settings)
		if err == nil {
			return nil
		}
		// Another process may have taken the port between our probe and the server's bind: try another.
		if attempt < 3 && strings.Contains(s.logTail(), "could not bind") {
			s.logger.Warn("port taken, trying another", slog.Int("port", port))
			continue
		}
		return err
	}
}

func (s *Server) startServer(ctx context.Context, dataDir, sockDir string, port int, settings map[string]string) error {
	args := []string{"-D", dataDir, "-p", strconv.Itoa(port), "-k", sockDir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "max_connections=300",
	}
	for k, v := range settings {
		args = append(args, "-c", k+"="+v)
	}
	// Not CommandContext: the server must outlive Start's context.
	cmd := exec.Command(filepath.Join(s.binDir, "postgres"), args...)
	cmd.Stdout = s.logFile
	cmd.Stderr = s.logFile
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: s.cred,
		Setpgid:    true, // a Ctrl-C meant for the caller's child command does not reach the server
		// If our process dies without Stop, the kernel asks the server for a fast shutdown.
		Pdeathsig: syscall.SIGINT,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtemp: start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited, s.port = cmd, exited, port

	dsn := s.DSN()
	for {
		if err := ping(ctx, dsn); err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("pgtemp: postgres exited during startup: %s", s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("pgtemp: postgres not ready: %w: %s", ctx.Err(), s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func ping(ctx context.Context, dsn string) error {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return db.PingContext(pctx)
}

// command prepares a PostgreSQL tool run as the server's user.
func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.binDir, name), args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	return cmd
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtemp: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSN is the superuser's connection URL to the "postgres" database over TCP.
func (s *Server) DSN() string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/postgres?sslmode=disable", Superuser, s.port)
}

// Port is the TCP port the server listens on, on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// Dir is the temporary directory holding the cluster (data/), the socket (sock/) and the server log (postgres.log).
func (s *Server) Dir() string { return s.dir }

// Restart stops the server as `pg_ctl restart -m fast` does (every session ends, the data stays), waits down for
// pause, and starts it again on the same port; it returns once it accepts connections (fault tests).
func (s *Server) Restart(ctx context.Context, pause time.Duration) error {
	out, err := s.command(ctx, "pg_ctl", "stop", "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtemp: restart: pg_ctl stop: %w: %s", err, lastLines(out, 5))
	}
	<-s.exited
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(pause):
	}
	return s.startServer(ctx, filepath.Join(s.dir, "data"), filepath.Join(s.dir, "sock"), s.port, s.settings)
}

// Stop shuts the server down (pg_ctl stop -m fast, then signals if that fails) and removes its directory. It is safe
// to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}

func (s *Server) stop() error {
	var errs []error
	if s.cmd != nil {
		select {
		case <-s.exited:
		default:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			out, err := s.command(ctx, "pg_ctl", "stop", "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w").
				CombinedOutput()
			cancel()
			if err != nil {
				errs = append(errs, fmt.Errorf("pg_ctl stop: %w: %s", err, lastLines(out, 5)))
				_ = s.cmd.Process.Signal(syscall.SIGINT)
			}
			select {
			case <-s.exited:
			case <-time.After(15 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
	}
	if s.logFile != nil {
		_ = s.logFile.Close()
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, err)
	}
	if s.owner != nil {
		_ = s.owner.Close()
	}
	s.logger.Info("throwaway postgresql stopped", slog.Int("port", s.port))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pgtemp: stop: %w", err)
	}
	return nil
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	if err != nil {
		return ""
	}
	return lastLines(b, 10)
}

func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
