// Command testenv runs a command inside the test environment: it starts a throwaway PostgreSQL from the installed
// server binaries, passes its URL to the command in DOSSIER_TEST_POSTGRES_URL, runs the command with the terminal's
// stdin, stdout and stderr, then stops PostgreSQL and removes its directory, also on Ctrl-C or SIGTERM. It exits
// with the command's exit code.
//
//	go run ./tests/testenv -- go test -race -count=1 ./...
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/msa-dossier/dossier/adapters/sqldb/pgtemp"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: go run ./tests/testenv -- COMMAND [ARG...]")
		return 2
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// From here on, SIGINT and SIGTERM no longer kill us: they are passed to the command (a terminal's Ctrl-C reaches
	// it directly), and we clean up once it has exited.
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)

	srv, err := pgtemp.Start(context.Background(), pgtemp.Options{Logger: logger})
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: start PostgreSQL: %v\n", err)
		return 1
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		}
	}()
	select {
	case sig := <-signals:
		fmt.Fprintf(os.Stderr, "testenv: %v before the command started\n", sig)
		return 130
	default:
	}
	fmt.Fprintf(os.Stderr, "testenv: throwaway PostgreSQL on 127.0.0.1:%d (%s)\n", srv.Port(), sqldbtest.PostgresURLEnv)

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), sqldbtest.PostgresURLEnv+"="+srv.DSN())
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 127
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	for {
		select {
		case sig := <-signals:
			_ = cmd.Process.Signal(sig)
		case err := <-waited:
			return exitCode(err)
		}
	}
}

// exitCode maps the command's end to ours, the shell's way: 128+n for a command killed by signal n.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return exitErr.ExitCode()
}
