package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"

	"github.com/msa-dossier/dossier/adapters/loadgen"
)

// BenchHTTPCmd is `dossier bench http`: realistic member and caseworker journeys against the real HTTP API of a
// `dossier serve` it starts (or of a running one on loopback, with --target and --server-dir), beside GET /healthz on
// the same server in the same run (adapters/loadgen).
type BenchHTTPCmd struct {
	Target      string `help:"A running server (http://127.0.0.1:PORT; loopback only). Default: start dossier serve for the run."`
	ServerDir   string `name:"server-dir" type:"path" help:"With --target: the running server's working directory (operator commands and the .eml outbox run there)."`
	ServerPID   int    `name:"server-pid" help:"With --target: the running server's process id, to report the CPU time it used during the mix (Linux)."`
	PostgresURL string `name:"postgres-url" help:"Read models on this PostgreSQL server (passed to the started serve, and to the operator commands)."`
	Postgres    bool   `name:"postgres" help:"Read models on a throwaway PostgreSQL started for the run (pgtemp)."`
	Dir         string `type:"path" help:"Parent directory of the started server's working directory (default: the system temp dir)."`
	Keep        bool   `help:"Keep the started server's working directory (its log is serve.log)."`

	Members         int           `default:"20" help:"Members (each one journey, from its own loopback address)."`
	Caseworkers     int           `default:"4" help:"Caseworkers working the queue."`
	Duration        time.Duration `default:"30s" help:"Length of the mixed load."`
	MaxRequests     int           `name:"max-requests" default:"0" help:"Stop the mix after this many requests (0: only the duration bounds it)."`
	Rate            float64       `default:"0" help:"Requests per second over all journeys (0: closed loop, as fast as the server answers)."`
	Think           time.Duration `default:"0s" help:"Pause of each journey between two requests."`
	Submit          float64       `default:"0.1" help:"Share of a member's steps that submit a request."`
	Relogin         float64       `default:"0" help:"Share of a member's steps that log out and log in again (0: members log in once, at the setup)."`
	Deposit         float64       `default:"0" help:"Share of a member's steps that deposit a document (one small PNG)."`
	Book            float64       `default:"0" help:"Share of a member's steps that book an appointment (or cancel the one booked; a supervisor publishes the caseworkers' availability at the setup)."`
	Baseline        time.Duration `default:"5s" help:"How long GET /healthz, then GET /v1/me, are measured alone."`
	BaselineClients int           `name:"baseline-clients" default:"8" help:"Concurrent clients of the baseline."`
	JSON            bool          `name:"json" help:"Print the report as JSON instead of the table."`
}

// Run sets the server up (or takes the given one), runs the load and prints the report.
func (c *BenchHTTPCmd) Run(ctx context.Context, logger *slog.Logger) error {
	rep, err := c.run(ctx, logger, nil)
	if err != nil {
		return err
	}
	return printBenchReport(rep, c.JSON)
}

// beside makes what runs beside the mix (the soak's sampler) once the server is known: its process id (0 when not
// known), its working directory and its base URL.
type beside func(pid int, dir, target string) func(ctx context.Context, sent func() (requests, commands, unexpected int))

// run sets the server up (or takes the given one) and runs the load, with during beside the mix when set.
func (c *BenchHTTPCmd) run(ctx context.Context, logger *slog.Logger, during beside) (*loadgen.Report, error) {
	if c.Target != "" {
		if _, err := loadgen.CheckLoopback(c.Target); err != nil {
			return nil, err
		}
		if c.ServerDir == "" {
			return nil, errors.New("bench http: --target needs --server-dir (where its operator commands and outbox are)")
		}
	}
	pgURL, note := c.PostgresURL, "read models in SQLite (embedded default)"
	if c.Postgres && pgURL == "" {
		url, _, stop, err := benchPostgres(ctx, logger, false, "", "bench: starting a throwaway PostgreSQL", "")
		if err != nil {
			return nil, err
		}
		defer stop()
		if url == "" {
			return nil, errors.New("bench http: no PostgreSQL server binaries on this machine (give --postgres-url)")
		}
		pgURL = url
	}
	if pgURL != "" {
		note = "read models in PostgreSQL"
	}
	var env []string
	if pgURL != "" {
		env = append(env, "DOSSIER_POSTGRES_URL="+pgURL)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	target, dir, pid := c.Target, c.ServerDir, c.ServerPID
	var serverCPU func() (time.Duration, error)
	if c.ServerPID > 0 {
		serverCPU = func() (time.Duration, error) { return loadgen.ProcessCPU(c.ServerPID) }
	}
	if target == "" {
		srv, err := startBenchServer(ctx, logger, exe, c.Dir, env)
		if err != nil {
			return nil, err
		}
		defer srv.stop(logger, c.Keep)
		target, dir = srv.base, srv.dir
		pid = srv.cmd.Process.Pid
		serverCPU = func() (time.Duration, error) { return loadgen.ProcessCPU(pid) }
		note += ", dossier serve started for the run"
	}
	admin := func(ctx context.Context, stdin []byte, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, exe, args...)
		cmd.Dir, cmd.Env, cmd.Stdin = dir, append(os.Environ(), env...), bytes.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("dossier %s: %w\n%s", args[0]+" "+args[1], err, out)
		}
		return out, nil
	}
	var duringMix func(context.Context, func() (int, int, int))
	if during != nil {
		duringMix = during(pid, dir, target)
	}
	return loadgen.Run(ctx, loadgen.Config{
		Target: target, Note: note, Members: c.Members, Caseworkers: c.Caseworkers,
		Duration: c.Duration, MaxRequests: c.MaxRequests, Rate: c.Rate, Think: c.Think, Submit: c.Submit, Relogin: c.Relogin, Deposit: c.Deposit, Book: c.Book,
		Baseline: c.Baseline, BaselineClients: c.BaselineClients, Run: int(time.Now().Unix() % 899), Logger: logger,
		Setup: loadgen.Setup{
			ImportInsured: func(ctx context.Context, csv []byte) error {
				f, err := os.CreateTemp(dir, "loadgen-insured-*.csv")
				if err != nil {
					return err
				}
				defer os.Remove(f.Name())
				if _, err := f.Write(csv); err != nil {
					_ = f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
				_, err = admin(ctx, nil, "admin", "import-insured", f.Name())
				return err
			},
			CreateStaff: func(ctx context.Context, login, name, role, password string) (string, string, error) {
				out, err := admin(ctx, []byte(password+"\n"), "admin", "create-staff", "--login", login, "--name", name, "--role", role)
				if err != nil {
					return "", "", err
				}
				id, secret := staffIDLine.FindSubmatch(out), totpSecretLine.FindSubmatch(out)
				if id == nil || secret == nil {
					return "", "", errors.New("bench http: create-staff printed no staff id or TOTP secret")
				}
				return string(id[1]), string(secret[1]), nil
			},
			ActivationCode: loadgen.OutboxCodes(filepath.Join(dir, "var", "outbox")),
			ServerCPU:      serverCPU,
		},
		DuringMix: duringMix,
	})
}

var (
	staffIDLine    = regexp.MustCompile(`staff id: +(\S+)`)
	totpSecretLine = regexp.MustCompile(`TOTP secret: (\S+)`)
)

// benchServer is a `dossier serve` started for a run, in a working directory of its own, on a free loopback port.
type benchServer struct {
	cmd       *exec.Cmd
	base, dir string
	done      chan error
}

func startBenchServer(ctx context.Context, logger *slog.Logger, exe, parent string, env []string) (*benchServer, error) {
	dir, err := os.MkdirTemp(parent, "dossier-bench-http-*")
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	_ = l.Close()
	logFile, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve", "--http-addr", addr, "--log-level", "warn")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, append(os.Environ(), env...), logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, err
	}
	s := &benchServer{cmd: cmd, base: "http://" + addr, dir: dir, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait(); _ = logFile.Close() }()
	logger.Info("bench http: started dossier serve", "addr", addr, "dir", dir)
	deadline := time.Now().Add(90 * time.Second)
	for {
		if resp, err := http.Get(s.base + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("bench http: dossier serve exited (%v); see %s", err, filepath.Join(dir, "serve.log"))
		case <-ctx.Done():
			s.stop(logger, true)
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop(logger, true)
			return nil, fmt.Errorf("bench http: dossier serve not ready after 90 s; see %s", filepath.Join(dir, "serve.log"))
		}
	}
}

// stop ends the server (SIGTERM, then SIGKILL after 15 s) and removes its directory unless keep.
func (s *benchServer) stop(logger *slog.Logger, keep bool) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	if keep {
		logger.Info("bench http: kept the server's directory", "dir", s.dir)
		return
	}
	_ = os.RemoveAll(s.dir)
}
