package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/msa-dossier/dossier/adapters/audithistory"
	"github.com/msa-dossier/dossier/adapters/auditlog"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections/auditstreams"
	"github.com/msa-dossier/dossier/projections/audittree"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

// AuditExportCmd is `dossier audit export`: the history of a member (--member), of a case (--case) or of a period of
// the whole log (--from/--to alone) as JSON Lines, one line per event in commit order, in the shape of the HTTP
// histories (audithistory.Item, with the stored leaf), with a progress bar on stderr.
type AuditExportCmd struct {
	Config  `embed:""`
	Auditor string `name:"auditor" required:"" help:"Your staff login: an account holding the auditor role. The export is recorded in the access log of each member it contains, under this account, before anything is written."`
	Member  string `name:"member" help:"The member's id (uuid): every event of every stream of the member."`
	Case    string `name:"case" help:"The case's id (uuid): its request stream and its reference claim."`
	From    string `name:"from" help:"Events recorded at or after this instant (RFC 3339); alone with --to: a period of the whole log."`
	To      string `name:"to" help:"Events recorded before this instant (RFC 3339)."`
	Out     string `name:"out" help:"The file to write (default: standard output)." type:"path"`
	Proofs  bool   `name:"proofs" help:"Write a bundle: a first line with the latest signed tree head (signed now if none covers the events), then each event with its leaf index and inclusion proof; dossier audit check verifies it offline."`

	stdout, stderr io.Writer
}

// Run writes the export.
func (c *AuditExportCmd) Run(ctx context.Context, logger *slog.Logger) error {
	f, err := c.filter()
	if err != nil {
		return err
	}
	var member, kase uuid.UUID
	switch {
	case c.Member != "" && c.Case != "":
		return errors.New("give --member or --case, not both")
	case c.Member != "":
		if member, err = parseMemberID(c.Member); err != nil {
			return err
		}
	case c.Case != "":
		if kase, err = uuid.Parse(c.Case); err != nil || kase == uuid.Nil {
			return fmt.Errorf("--case %q is not a case id (uuid)", c.Case)
		}
	case f.From.IsZero() && f.To.IsZero():
		return errors.New("give --member, --case, or a period (--from and/or --to)")
	}
	logger = withLevel(logger, c.LogLevel)
	staffCmds, st, auditorID, err := staffByLogin(ctx, &c.Config, logger, c.Auditor)
	if err != nil {
		return fmt.Errorf("--auditor: %w", err)
	}
	defer st.Close()
	if err := requireAuditor(ctx, staffCmds, auditorID, c.Auditor); err != nil {
		return err
	}
	registry, err := eventRegistry(st.Keys)
	if err != nil {
		return err
	}
	keys, err := c.keyedHasher()
	if err != nil {
		return err
	}
	_, queries := readmodels.New(st.DB, directoryHash(keys))
	reader := audithistory.New(st.Events, registry, queries.AuditStreams)
	head, err := headPosition(ctx, st.Events)
	if err != nil {
		return err
	}
	visible, err := caseVisibility(ctx, st, queries, auditorID)
	if err != nil {
		return err
	}
	// Who is in the export, recorded in each one's access log before a line is written: a member's or a case's
	// scope names its member; a period's members are those of its events' streams (one reading of the period more).
	var scope audithistory.Scope
	subject := ""
	var members []uuid.UUID
	switch {
	case member != uuid.Nil:
		if scope, err = reader.MemberScope(ctx, member); err != nil {
			return refusal(err)
		}
		if scope.Streams, err = auditstreams.Visible(scope.Streams, visible); err != nil {
			return err
		}
		members = []uuid.UUID{scope.Member}
	case kase != uuid.Nil:
		if scope, err = reader.CaseScope(ctx, kase); err != nil {
			return refusal(err)
		}
		if ok, err := visible(kase); err != nil {
			return err
		} else if !ok {
			return refusal(auditstreams.ErrCaseNotFound)
		}
		members, subject = []uuid.UUID{scope.Member}, kase.String()
	default:
		if members, err = reader.PeriodMembers(ctx, f); err != nil {
			return err
		}
	}
	if err := recordExport(ctx, staffCmds, auditorID, members, subject); err != nil {
		return err
	}

	out := stdoutOr(c.stdout)
	if c.Out != "" {
		file, err := os.OpenFile(c.Out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer file.Close()
		out = file
	}
	stderr := c.stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	bar := progressbar.NewOptions64(int64(max(head, 1)),
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("audit export"),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
	)
	progress := func(position uint64) {
		if position > uint64(bar.GetMax64()) {
			bar.ChangeMax64(int64(position))
		}
		_ = bar.Set64(int64(position))
	}
	lines := func(emit func(audithistory.Item) error) error {
		each := func(it audithistory.Item) error {
			progress(it.Stored.Commit)
			return emit(it)
		}
		switch {
		case member != uuid.Nil, kase != uuid.Nil:
			return reader.Each(ctx, scope, f, each)
		default:
			// A period leaves out the events of the cases the auditor may not see, as a member's history does.
			seen := map[string]bool{}
			return reader.Period(ctx, f, func(it audithistory.Item) error {
				ok, known := seen[it.Stored.Stream]
				if !known {
					ok = true
					if row, err := queries.AuditStreams.Get(ctx, it.Stored.Stream); err == nil {
						kept, err := auditstreams.Visible([]auditstreams.Stream{row}, visible)
						if err != nil {
							return err
						}
						ok = len(kept) == 1
					}
					seen[it.Stored.Stream] = ok
				}
				if !ok {
					return nil
				}
				return emit(it)
			}, progress)
		}
	}
	var n int
	if c.Proofs {
		n, err = c.writeBundle(ctx, st, logger, out, lines)
	} else {
		n, err = writeExport(out, lines)
	}
	_ = bar.Finish()
	fmt.Fprintln(stderr)
	if err != nil {
		return err
	}
	if file, ok := out.(*os.File); ok && c.Out != "" {
		if err := file.Sync(); err != nil {
			return err
		}
	}
	logger.Info("audit export: done", "events", n, "members", len(members), "member_id", member, "case_id", kase)
	return nil
}

// caseVisibility returns whether the auditor may see a case (by id), as the HTTP histories decide: a case of a
// confidential queue only within the medical service, and a case not in the queues' read model yet not at all (fail
// closed).
func caseVisibility(ctx context.Context, st *stores, queries readmodels.Queries, auditorID uuid.UUID) (func(uuid.UUID) (bool, error), error) {
	store, err := eventStore(st.Events, st.Keys)
	if err != nil {
		return nil, err
	}
	cases, err := command.NewCases(command.Runtime{Store: store})
	if err != nil {
		return nil, err
	}
	access, err := cases.QueueAccess(ctx, auditorID)
	if err != nil {
		return nil, fmt.Errorf("--auditor: %w", err)
	}
	return func(caseID uuid.UUID) (bool, error) { return queries.Queues.Visible(ctx, caseID, access.CaseCheck) }, nil
}

// requireAuditor refuses an export by a staff account that does not hold the auditor role.
func requireAuditor(ctx context.Context, h *command.Staff, id uuid.UUID, login string) error {
	roles, err := h.StaffRoles(ctx, id)
	if err != nil {
		return fmt.Errorf("--auditor: %w", err)
	}
	if !slices.Contains(roles, staff.RoleAuditor) {
		return fmt.Errorf("--auditor %s: the account does not hold the auditor role", login)
	}
	return nil
}

// recordExport records the export in the access log of each member (view audit.export, role auditor, subject the
// case id for a case's export), as the auditor staff member auditorID; the first failure stops the export before
// anything is written. The records of one export share a correlation id.
func recordExport(ctx context.Context, h *command.Staff, auditorID uuid.UUID, members []uuid.UUID, subject string) error {
	correlation := uuid.New()
	actor := event.Actor{ID: auditorID.String(), Role: event.RoleAuditor}
	for _, m := range members {
		if _, err := h.RecordMemberDataOpened(ctx, command.Meta{Actor: actor, CorrelationID: correlation, CommandID: uuid.New()},
			auditorID, staff.RoleAuditor, m, staff.ViewAuditExport, subject); err != nil {
			return fmt.Errorf("record the export in the access log of member %s: %w", m, err)
		}
	}
	return nil
}

// filter reads --from and --to.
func (c *AuditExportCmd) filter() (audithistory.Filter, error) {
	var f audithistory.Filter
	for _, p := range []struct {
		name, v string
		t       *time.Time
	}{{"--from", c.From, &f.From}, {"--to", c.To, &f.To}} {
		if p.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, p.v)
		if err != nil {
			return f, fmt.Errorf("%s %q is not an RFC 3339 instant", p.name, p.v)
		}
		if t.After(time.Now()) {
			return f, fmt.Errorf("%s %q is in the future", p.name, p.v)
		}
		*p.t = t
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return f, errors.New("--from is after --to")
	}
	return f, nil
}

// provenItem is a line of a bundle: the history's line with its leaf index and inclusion proof beside its stored
// leaf (the members auditlog.Check reads).
type provenItem struct {
	audithistory.Item
	LeafIndex int64       `json:"leaf_index"`
	Proof     []tlog.Hash `json:"proof"`
}

// writeBundle writes the export as an audit bundle: the history's lines are gathered (a member's or a case's history
// fits in memory; a period should be exported without --proofs), the tree caught up, the leaves proven against the
// latest signed head, then the header and the proven lines written.
func (c *AuditExportCmd) writeBundle(ctx context.Context, st *stores, logger *slog.Logger, w io.Writer,
	lines func(emit func(audithistory.Item) error) error) (int, error) {
	var items []audithistory.Item
	if err := lines(func(it audithistory.Item) error { items = append(items, it); return nil }); err != nil {
		return 0, err
	}
	if len(items) == 0 {
		return 0, errors.New("nothing to prove: the export is empty")
	}
	key, err := c.auditKey()
	if err != nil {
		return 0, err
	}
	store, err := eventStore(st.Events, st.Keys)
	if err != nil {
		return 0, err
	}
	if err := catchUpTree(ctx, st, logger); err != nil {
		return 0, err
	}
	leaves := make([]auditlog.Leaf, len(items))
	for i, it := range items {
		leaves[i] = it.Stored
	}
	b, err := auditlog.New(audittree.NewQueries(st.DB), store, key).Prove(ctx, leaves)
	if err != nil {
		return 0, err
	}
	i := 0
	n, err := writeExport(w, func(emit func(any) error) error {
		if err := emit(b.Header); err != nil {
			return err
		}
		for ; i < len(items); i++ {
			if err := emit(provenItem{Item: items[i], LeafIndex: b.Lines[i].LeafIndex, Proof: b.Lines[i].Proof}); err != nil {
				return err
			}
		}
		return nil
	})
	return max(n-1, 0), err // the header is not an event
}

// writeExport writes the lines lines emits as JSON Lines to w and returns how many it wrote. It is the one writer
// of an export: a bundle header (inclusion proofs and a signed tree head) goes here, before or after the lines.
func writeExport[T any](w io.Writer, lines func(emit func(T) error) error) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	err := lines(func(line T) error {
		n++
		return enc.Encode(line)
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}
