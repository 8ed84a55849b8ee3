package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/integration"
	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/insured"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/messages"
	"github.com/msa-dossier/dossier/domain/nir"
)

// importFinanceActor is who the imported facts say acted: the command itself, run by an operator.
var importFinanceActor = event.Actor{ID: "admin/import-finance", Role: event.RoleSystem}

// Errors of a finance import file as a whole (nothing imported) or of one line (reported, the rest goes on).
var (
	errFinanceHeader = failure.New(failure.Invalid, "finance_import.header",
		"header must name at least the columns kind, nir and id (separated by ';' or ',')")
	errFinanceLine = failure.New(failure.Invalid, "finance_import.malformed_line",
		"line is not valid CSV or has not as many columns as the header")
	errFinanceNumber = failure.New(failure.Invalid, "finance_import.number",
		"unreadable number (days or amount in cents)")
)

// financeColumns are the columns a finance file may have; kind, nir and id are required, the others as the kind
// needs them (statement: period_start, period_end, days, gross_cents, net_cents, paid_on; payment: payment_kind,
// amount_cents, paid_on, label; invoice: label, amount_cents, due_on).
var financeColumns = []string{"kind", "nir", "id", "label", "payment_kind", "period_start", "period_end", "days",
	"gross_cents", "net_cents", "amount_cents", "paid_on", "due_on"}

// AdminImportFinanceCmd is `dossier admin import-finance FILE.csv`: it records the statements, payments and invoices
// of the fund's other systems in the members' histories: each line becomes the integration message the consumer of
// integration.FinanceTopic would receive and goes through the same handler (integration.Finance). A fact whose NIR
// names no open account yet is parked until the account opens, when the person is in the insured-person reference,
// and rejected (consultation.not_insured) otherwise. It prints a report (counts, parked lines apart, then the
// rejected lines with their number and reason code, never a NIR) and exits non-zero if any line was rejected.
// Importing the same file again appends nothing.
type AdminImportFinanceCmd struct {
	Config `embed:""`
	File   string `arg:"" help:"CSV file in UTF-8: a header line naming the columns (kind;nir;id;label;payment_kind;period_start;period_end;days;gross_cents;net_cents;amount_cents;paid_on;due_on, any order, kind, nir and id required), then one fact per line; kind is statement, payment or invoice; amounts in cents, dates YYYY-MM-DD."`

	stdout io.Writer // nil: os.Stdout (tests set it)
}

// financeReport says what an import did: counts and line numbers, never a NIR. Parked counts the lines whose fact
// waits for its person's account (parked by this import or an earlier one).
type financeReport struct {
	Lines, Imported, Unchanged, Parked int
	Rejected                           []financeRejection
	Position                           uint64
}

type financeRejection struct {
	Line          int
	Code, Message string
}

func (rep *financeReport) reject(line int, err error) {
	code := failure.CodeOf(err)
	msg, _ := messages.FR(code) // the code's sentence: never the line's data
	if field := failure.FieldOf(err); field != "" {
		msg = field + ": " + msg
	}
	rep.Rejected = append(rep.Rejected, financeRejection{Line: line, Code: code, Message: msg})
}

// Run imports the file.
func (c *AdminImportFinanceCmd) Run(ctx context.Context, logger *slog.Logger) error {
	f, err := openCSV(c.File)
	if err != nil {
		return err
	}
	defer f.Close()
	keys, err := c.keyedHasher()
	if err != nil {
		return err
	}
	st, err := openStores(ctx, &c.Config, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	store, err := financeStore(st.Events, st.Keys)
	if err != nil {
		return err
	}
	h, err := command.NewFinance(command.Runtime{Store: store}, keys)
	if err != nil {
		return err
	}
	correlation := uuid.New()
	logger.Info("import finance facts", "correlation_id", correlation, "event_store", st.EventStoreName)
	rep, err := importFinance(ctx, h, f, command.Meta{Actor: importFinanceActor, CorrelationID: correlation})
	if err != nil && rep.Lines == 0 && failure.KindOf(err) == failure.Invalid {
		return fmt.Errorf("%s refused, nothing imported: %s: %w", c.File, failure.CodeOf(err), err)
	}
	out := c.stdout
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprintf(out, "lines read: %d\nimported:   %d\nunchanged:  %d\nparked:     %d\nrejected:   %d\n", rep.Lines,
		rep.Imported, rep.Unchanged, rep.Parked, len(rep.Rejected))
	for _, r := range rep.Rejected {
		fmt.Fprintf(out, "  line %d: %s: %s\n", r.Line, r.Code, r.Message)
	}
	logger.Info("import finance facts: done", "correlation_id", correlation, "lines", rep.Lines, "imported", rep.Imported,
		"unchanged", rep.Unchanged, "parked", rep.Parked, "rejected", len(rep.Rejected))
	if err != nil {
		return fmt.Errorf("import stopped (running it again is safe): %w", err)
	}
	if len(rep.Rejected) > 0 {
		return fmt.Errorf("%d line(s) rejected: see the report", len(rep.Rejected))
	}
	return nil
}

// financeStore returns a store whose codec knows what the import reads and writes: nirclaim and member streams
// (to find the member), insured streams (the reference, before parking), memberfinance and parkedfinance streams;
// sealed by keys (see eventRegistry).
func financeStore(client *kurrentdb.Client, keys *keystore.Store) (*kurrentdb.Store, error) {
	return eventStore(client, keys, member.Definitions(), insured.Definitions(), consultation.Definitions())
}

// importFinance reads the file line by line and turns each line into an integration message (adapters/integration)
// handled by the consumer's own function, integration.Finance: a line that does not validate, or whose NIR is not
// in the insured-person reference, is rejected and writes nothing; a valid one is recorded in the member's history
// (imported, or unchanged when already recorded), or parked when its NIR has no open account yet, with m's actor
// and correlation id. A store failure stops the import and is returned with the report so far.
func importFinance(ctx context.Context, h *command.Finance, r io.Reader, m command.Meta) (financeReport, error) {
	var rep financeReport
	rec := &importRecorder{h: h, actor: m.Actor}
	handle := integration.Finance(rec)
	lines := bufio.NewScanner(r)
	lines.Buffer(make([]byte, 0, 4096), 1<<16)
	if !lines.Scan() {
		if err := lines.Err(); err != nil {
			return rep, err
		}
		return rep, errFinanceHeader
	}
	first := strings.TrimPrefix(lines.Text(), "\ufeff")
	sep := ','
	if strings.Count(first, ";") >= strings.Count(first, ",") {
		sep = ';'
	}
	header, err := splitLine(first, sep)
	if err != nil {
		return rep, errFinanceHeader
	}
	col := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := col[name]; dup || !contains(financeColumns, name) {
			return rep, errFinanceHeader
		}
		col[name] = i
	}
	for _, req := range []string{"kind", "nir", "id"} {
		if _, ok := col[req]; !ok {
			return rep, errFinanceHeader
		}
	}
	for line := 2; lines.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		text := lines.Text()
		if strings.TrimSpace(text) == "" {
			continue
		}
		rep.Lines++
		fields, err := splitLine(text, sep)
		if err != nil || !utf8.ValidString(text) || len(fields) != len(header) {
			rep.reject(line, errFinanceLine)
			continue
		}
		get := func(name string) string {
			if i, ok := col[name]; ok {
				return strings.TrimSpace(fields[i])
			}
			return ""
		}
		// The line becomes the message the integration consumer would receive, and goes through the same handler.
		fact, err := financeFact(get)
		if err != nil && !errors.Is(err, consultation.ErrUnknownFact) {
			rep.reject(line, err) // an unreadable number
			continue
		}
		factJSON, err := json.Marshal(fact)
		if err != nil {
			return rep, fmt.Errorf("import line %d: %w", line, err)
		}
		payload, err := json.Marshal(integration.FinanceMessage{Kind: get("kind"), NIR: get("nir"), Fact: factJSON})
		if err != nil {
			return rep, fmt.Errorf("import line %d: %w", line, err)
		}
		msg := message.NewMessageWithContext(ctx, uuid.NewString(), payload)
		msg.Metadata.Set(integration.MetaCorrelationID, m.CorrelationID.String())
		rec.position = 0
		outcome, err := handle(msg)
		rep.Position = max(rep.Position, rec.position)
		switch {
		case failure.KindOf(err) == failure.Invalid:
			rep.reject(line, err)
		case err != nil:
			return rep, fmt.Errorf("import line %d: %w", line, err)
		case outcome == integration.OutcomeParked:
			rep.Parked++
		case outcome == integration.OutcomeRecorded:
			rep.Imported++
		default:
			rep.Unchanged++
		}
	}
	if err := lines.Err(); err != nil {
		return rep, fmt.Errorf("read the file: %w", err)
	}
	return rep, nil
}

// importRecorder is the integration handler's FinanceRecorder for an import: the command handler, with the
// import's actor, keeping the position of the last record for the report.
type importRecorder struct {
	h        *command.Finance
	actor    event.Actor
	position uint64
}

func (r *importRecorder) RecordFinanceFact(ctx context.Context, m command.Meta, memberID uuid.UUID, fact any) (command.Result, error) {
	m.Actor = r.actor
	res, err := r.h.RecordFinanceFact(ctx, m, memberID, fact)
	r.position = res.Position
	return res, err
}

func (r *importRecorder) RecordFinanceFactByNIR(ctx context.Context, m command.Meta, n nir.NIR, fact any) (command.FinanceFactResult, error) {
	m.Actor = r.actor
	res, err := r.h.RecordFinanceFactByNIR(ctx, m, n, fact)
	r.position = res.Position
	return res, err
}

// financeFact builds the fact a line describes.
func financeFact(get func(string) string) (any, error) {
	num := func(name string) (int64, error) {
		s := get(name)
		if s == "" {
			return 0, nil // Normalize reports the missing amount
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, failure.Field(name, errFinanceNumber)
		}
		return v, nil
	}
	switch get("kind") {
	case consultation.FactStatement:
		days, err := num("days")
		if err != nil {
			return nil, err
		}
		gross, err := num("gross_cents")
		if err != nil {
			return nil, err
		}
		net, err := num("net_cents")
		if err != nil {
			return nil, err
		}
		return consultation.DailyAllowanceStatementRecorded{StatementID: get("id"), PeriodStart: get("period_start"),
			PeriodEnd: get("period_end"), Days: int(days), GrossCents: gross, NetCents: net, PaidOn: get("paid_on")}, nil
	case consultation.FactPayment:
		amount, err := num("amount_cents")
		if err != nil {
			return nil, err
		}
		return consultation.PaymentRecorded{PaymentID: get("id"), Kind: get("payment_kind"), AmountCents: amount,
			PaidOn: get("paid_on"), Label: get("label")}, nil
	case consultation.FactInvoice:
		amount, err := num("amount_cents")
		if err != nil {
			return nil, err
		}
		return consultation.InvoiceIssued{InvoiceID: get("id"), Label: get("label"), AmountCents: amount,
			DueOn: get("due_on")}, nil
	}
	return nil, failure.Field("kind", consultation.ErrUnknownFact)
}

// splitLine parses one CSV line on its own, so a stray quote costs only its line.
func splitLine(line string, sep rune) ([]string, error) {
	c := csv.NewReader(strings.NewReader(line))
	c.Comma = sep
	c.FieldsPerRecord = -1
	c.TrimLeadingSpace = true
	return c.Read()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
