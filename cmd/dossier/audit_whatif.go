package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/servicerequest/whatif"
)

// AuditWhatIfCmd is `dossier audit what-if --catalog FILE --from DAY --to DAY`: the service requests received in the
// period, read from the event store, replayed under the catalogue of FILE (same JSON form as the published versions:
// docs/samples/catalog-whatif.json), with the cases whose handling target day, implicit-decision day, queue or breach
// would have differed, and totals per service and per queue (domain/servicerequest/whatif). Nothing is written, and
// no personal data is opened (the replay reads every personal field as erased). Bad input (a catalogue file that does
// not parse or validate, a period that ends before it starts or lies in the future) is refused with every problem
// named, exit status 2.
type AuditWhatIfCmd struct {
	Config  `embed:""`
	Catalog string `name:"catalog" required:"" help:"The catalogue to replay under: a JSON file in the form of the published versions (GET /v1/catalog; sample in docs/samples/catalog-whatif.json)."`
	From    string `name:"from" required:"" help:"First day of the period (YYYY-MM-DD, Europe/Paris) or an RFC 3339 instant (included)."`
	To      string `name:"to" required:"" help:"Last day of the period (YYYY-MM-DD, Europe/Paris, included) or an RFC 3339 instant (excluded)."`
	JSON    bool   `name:"json" help:"Print the report as JSON instead of tables."`

	now    func() time.Time // nil: time.Now
	stdout io.Writer        // nil: os.Stdout
	stderr io.Writer        // nil: os.Stderr
	exit   func(int)        // nil: os.Exit
}

// whatIfLocation is the calendar of the period's days: the fund's.
var whatIfLocation = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		return time.FixedZone("CET", 3600)
	}
	return loc
}()

// Run checks the input, reads the period's requests from the event store and prints the report.
func (c *AuditWhatIfCmd) Run(ctx context.Context, logger *slog.Logger) error {
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	at := now()
	alt, period, problems := c.input(at)
	if len(problems) > 0 {
		errw := c.stderr
		if errw == nil {
			errw = os.Stderr
		}
		fmt.Fprintf(errw, "dossier audit what-if: bad input, nothing replayed:\n  - %s\n", strings.Join(problems, "\n  - "))
		exit := c.exit
		if exit == nil {
			exit = os.Exit
		}
		exit(2)
		return errors.New("audit what-if: bad input")
	}
	logger = withLevel(logger, c.LogLevel)
	st, err := openEventStore(ctx, &c.Config, logger, false) // the log only: no database, no key store
	if err != nil {
		return err
	}
	defer st.Close()
	registry, err := event.NewRegistry(eventDefinitions()...)
	if err != nil {
		return fmt.Errorf("event definitions: %w", err)
	}
	source := kurrentdb.NewSource(st.Events, kurrentdb.NewCodec(registry.WithSealer(whatif.Blind{})))
	h := whatif.NewHistories(period)
	if err := readToHead(ctx, source, h); err != nil {
		return err
	}
	rep, err := whatif.Replay(alt, period, at, h.Cases())
	if err != nil {
		return err
	}
	rep.Undecodable = h.Undecodable
	if c.JSON {
		enc := json.NewEncoder(stdoutOr(c.stdout))
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(stdoutOr(c.stdout))
}

// input parses the catalogue file and the period, and returns every problem found.
func (c *AuditWhatIfCmd) input(now time.Time) (*catalog.Catalog, whatif.Period, []string) {
	var problems []string
	var alt *catalog.Catalog
	data, err := os.ReadFile(c.Catalog)
	if err == nil {
		alt, err = catalog.Parse(data)
	}
	if err != nil {
		problems = append(problems, fmt.Sprintf("--catalog %s: %v", c.Catalog, err))
	} else {
		// Each request service must be one a submission could record (a queue with a service in charge).
		for _, s := range alt.Services() {
			if s.Kind != catalog.KindRequest {
				continue
			}
			if _, err := command.RequestService(alt, s.Code); err != nil {
				problems = append(problems, fmt.Sprintf("--catalog %s: service %q: %v", c.Catalog, s.Code, err))
			}
		}
	}
	from, ferr := periodBound(c.From, false)
	if ferr != nil {
		problems = append(problems, "--from: "+ferr.Error())
	}
	to, terr := periodBound(c.To, true)
	if terr != nil {
		problems = append(problems, "--to: "+terr.Error())
	}
	p := whatif.Period{From: from, To: to}
	if ferr == nil && terr == nil {
		if err := p.Check(now); err != nil {
			problems = append(problems, strings.Split(err.Error(), "\n")...)
		}
	}
	return alt, p, problems
}

// periodBound reads a day (midnight in Paris; the next midnight for the end, so that the last day is included) or
// an RFC 3339 instant.
func periodBound(s string, end bool) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, whatIfLocation); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a day (YYYY-MM-DD) nor an RFC 3339 instant", s)
	}
	return t, nil
}

// readToHead feeds h every event of the log, from the start to the head as it was when the feed caught up.
func readToHead(ctx context.Context, source *kurrentdb.Source, h *whatif.Histories) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errDone := errors.New("caught up")
	err := source.Run(ctx, 0, func(_ context.Context, d event.Delivery) error {
		switch {
		case d.CaughtUp:
			return errDone
		case d.Err != nil:
			if strings.HasPrefix(d.Record.Stream, "servicerequest-") {
				h.Undecodable++
			}
			return nil
		}
		h.Add(d.Envelope)
		return nil
	})
	if errors.Is(err, errDone) {
		return nil
	}
	return fmt.Errorf("read the event log: %w", err)
}
