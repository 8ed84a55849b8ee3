package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/msa-dossier/dossier/projections"
)

// ProjectionsVerifyCmd checks live projections against a rebuild from the log (projections.Verify).
type ProjectionsVerifyCmd struct {
	Config `embed:""`
	Names  []string `arg:"" optional:"" name:"projection" help:"Projections to verify (default: every projection of this binary)."`
	Keys   int      `name:"keys" default:"20" help:"Differing keys listed per table and kind (missing, extra, changed); every one is counted."`

	stdout io.Writer // the reports (nil: os.Stdout)
}

// errDifferences makes the command exit 1 once every report is printed.
var errDifferences = errors.New("the live rows differ from the rebuild")

// Run verifies each named projection, prints its report and records it (the dossier_projection_verified_* metrics).
func (c *ProjectionsVerifyCmd) Run(ctx context.Context, logger *slog.Logger) error {
	logger = withLevel(logger, c.LogLevel)
	todo, st, source, err := openProjections(ctx, &c.Config, c.Names, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	out := c.stdout
	if out == nil {
		out = os.Stdout
	}
	differ := false
	for _, p := range todo {
		bar := progressbar.NewOptions64(1, progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("verify "+p.Name()), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30))
		rep, err := projections.Verify(ctx, st.DB, source, p, projections.VerifyOptions{Logger: logger,
			Progress: func(pos, target uint64) {
				if int64(target) != bar.GetMax64() {
					bar.ChangeMax64(int64(target))
				}
				_ = bar.Set64(int64(pos))
			}})
		_ = bar.Finish()
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return fmt.Errorf("verify %s: %w", p.Name(), err)
		}
		printVerification(out, rep, c.Keys)
		if !rep.Clean() {
			differ = true
		}
	}
	if differ {
		return errDifferences
	}
	return nil
}

// printVerification writes a report: one line per table, then its differing keys (at most max per kind).
func printVerification(w io.Writer, r projections.Report, max int) {
	verdict := "clean"
	if !r.Clean() {
		verdict = fmt.Sprintf("%d DIFFERENCES", r.Differences())
	}
	fmt.Fprintf(w, "%s v%d at position %d: %s (%d live rows, %d events replayed, %s)\n", r.Projection, r.Version,
		r.Position, verdict, r.Rows, r.Events, r.Took.Round(time.Millisecond))
	for _, t := range r.Tables {
		fmt.Fprintf(w, "  %s (key: %s): %d live rows, %d rebuilt; %d missing, %d extra, %d changed\n", t.Table,
			strings.Join(t.Key, ", "), t.LiveRows, t.RebuiltRows, len(t.Missing), len(t.Extra), len(t.Changed))
		for _, kind := range []struct {
			name string
			keys []string
		}{{"missing", t.Missing}, {"extra", t.Extra}, {"changed", t.Changed}} {
			for i, k := range kind.keys {
				if i == max {
					fmt.Fprintf(w, "    %s: … and %d more\n", kind.name, len(kind.keys)-max)
					break
				}
				fmt.Fprintf(w, "    %s: %s\n", kind.name, k)
			}
		}
	}
}
