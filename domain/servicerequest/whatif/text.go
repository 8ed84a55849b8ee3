package whatif

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText prints the report as tables: totals per service and per queue, then each case that differs.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "what-if: catalogue %s over the requests received from %s to %s, as of %s\n", r.Catalog,
		r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), r.AsOf.Format(time.RFC3339))
	fmt.Fprintf(&b, "%d cases replayed, %d would have differed", r.Cases, r.Differ)
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&b, ", %d not replayable", len(r.Skipped))
	}
	if r.Undecodable > 0 {
		fmt.Fprintf(&b, ", %d request events undecodable (left out)", r.Undecodable)
	}
	b.WriteString("\n\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	totals := func(title string, ts []Total) {
		fmt.Fprintf(tw, "%s\tcases\tdiffer\tdue day\timplicit-decision day\tqueue\tbreach\t\n", title)
		for _, t := range append(ts, r.All) {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t\n", t.Key, t.Cases, t.Differ, t.DueOn, t.Implicit, t.Queue, t.Breach)
		}
		fmt.Fprintln(tw)
	}
	totals("service", r.ByService)
	totals("queue (as recorded)", r.ByQueue)
	if len(r.Differences) > 0 {
		fmt.Fprint(tw, "reference\tservice\treceived\tdue day\timplicit-decision day\tqueue\tbreached\tchanged\t\n")
		for _, d := range r.Differences {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s → %s\t%s → %s\t%s → %s\t%v → %v\t%s\t\n", d.Reference, d.Service,
				d.ReceivedAt.Format(time.DateOnly), d.Was.DueOn, d.WouldBe.DueOn, dash(d.Was.ImplicitDecisionOn),
				dash(d.WouldBe.ImplicitDecisionOn), d.Was.Queue, d.WouldBe.Queue, d.Was.Breached, d.WouldBe.Breached,
				strings.Join(d.Changed, ","))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.Reset()
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "not replayed: %s (%s): %s\n", s.RequestID, s.Service, s.Reason)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
