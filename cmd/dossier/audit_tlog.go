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

	"golang.org/x/mod/sumdb/tlog"

	"github.com/msa-dossier/dossier/adapters/auditlog"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/audittree"
)

// AuditConfig names the audit signing key (a key of its own, never the server key) and how often serve signs a tree
// head (issue 16 item 3; see adapters/auditlog).
type AuditConfig struct {
	AuditSigningKey     string        `name:"audit-signing-key" env:"DOSSIER_AUDIT_SIGNING_KEY" help:"Ed25519 seed (64 hex characters) that signs the audit tree heads. Empty: ./var/audit-ed25519.key, created once. Secret; DOSSIER_AUDIT_SIGNING_KEY_FILE reads it from a file. Its public key: dossier audit public-key."`
	AuditSigningKeyPath string        `name:"audit-signing-key-path" env:"DOSSIER_AUDIT_SIGNING_KEY_PATH" default:"./var/audit-ed25519.key" help:"Where the embedded default keeps its generated audit signing key."`
	AuditHeadInterval   time.Duration `name:"audit-head-interval" env:"DOSSIER_AUDIT_HEAD_INTERVAL" default:"1h" help:"How often a signed tree head is appended to the event log (by one replica, under a lease; none while nothing new was written)."`
}

// auditKey returns the signing key: the given one when set, else the key file, generated on first use.
func (c AuditConfig) auditKey() (*auditlog.Key, error) {
	if c.AuditSigningKey != "" {
		k, err := auditlog.ParseKey(c.AuditSigningKey)
		if err != nil {
			return nil, fmt.Errorf("audit-signing-key: %w", err)
		}
		return k, nil
	}
	k, err := auditlog.LoadOrCreateKeyFile(c.AuditSigningKeyPath)
	if err != nil {
		return nil, fmt.Errorf("audit-signing-key-path: %w", err)
	}
	return k, nil
}

func (c AuditConfig) problems() []error {
	var errs []error
	if c.AuditSigningKey != "" {
		if _, err := auditlog.ParseKey(c.AuditSigningKey); err != nil {
			errs = append(errs, fmt.Errorf("audit-signing-key: %w", err))
		}
	} else if c.AuditSigningKeyPath == "" {
		errs = append(errs, errors.New("audit-signing-key-path must be set when no audit signing key is given"))
	}
	if c.AuditHeadInterval < time.Second {
		errs = append(errs, errors.New("audit-head-interval must be at least 1s"))
	}
	return errs
}

// auditHeadsLease is the lease of the replica that signs the heads.
const auditHeadsLease = "audit.heads"

// wireAudit builds the signer of tree heads serve runs every --audit-head-interval (runAuditHeads).
func (a *app) wireAudit(store *kurrentdb.Store, tree *audittree.Queries) error {
	key, err := a.cfg.auditKey()
	if err != nil {
		return err
	}
	log := auditlog.New(tree, store, key)
	logger := a.logger.With("component", "audit-heads")
	a.auditHeads = &messaging.Leased{Lease: auditHeadsLease, DB: a.stores.DB, Interval: a.cfg.AuditHeadInterval,
		LeaseRetry: min(a.cfg.AuditHeadInterval, time.Minute), Logger: a.logger,
		Tick: func(ctx context.Context) {
			h, signed, err := log.Sign(ctx)
			switch {
			case errors.Is(err, auditlog.ErrEmptyTree), ctx.Err() != nil:
			case err != nil:
				logger.Warn("audit: tree head not signed; next try at the next interval", "error", err)
			case signed:
				logger.Info("audit: tree head signed", "size", h.Size, "last_position", h.LastCommit, "key", h.KeyID)
			}
		}}
	return nil
}

// AuditSignCmd appends a signed tree head now, over the audit tree as the read model holds it.
type AuditSignCmd struct {
	Config `embed:""`
}

// Run signs and prints the head.
func (c *AuditSignCmd) Run(ctx context.Context, logger *slog.Logger) error {
	key, err := c.auditKey()
	if err != nil {
		return err
	}
	logger = withLevel(logger, c.LogLevel)
	st, err := openStores(ctx, &c.Config, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	store, err := eventStore(st.Events, st.Keys)
	if err != nil {
		return err
	}
	if err := catchUpTree(ctx, st, logger); err != nil {
		return err
	}
	h, signed, err := auditlog.New(audittree.NewQueries(st.DB), store, key).Sign(ctx)
	if err != nil {
		return err
	}
	verb := "signed"
	if !signed {
		verb = "unchanged since the latest head"
	}
	fmt.Printf("tree head %s: %d events up to position %d, root %s, key %s, at %s\n", verb, h.Size, h.LastCommit,
		h.Root, h.KeyID, h.At.Format(time.RFC3339))
	return nil
}

// AuditPubKeyCmd prints the public key of the audit signing key, for auditors (dossier audit check, verify).
type AuditPubKeyCmd struct {
	AuditConfig `embed:""`
}

// Run prints the key.
func (c *AuditPubKeyCmd) Run() error {
	key, err := c.auditKey()
	if err != nil {
		return err
	}
	fmt.Println(key.PublicKey())
	return nil
}

// AuditVerifyCmd recomputes the tree from the event store and checks every signed head in it.
type AuditVerifyCmd struct {
	Config    `embed:""`
	PublicKey string   `name:"public-key" help:"Public key to check the heads with (or a file holding it). Default: that of the configured signing key."`
	Heads     []string `name:"head" help:"A file of heads kept outside the log (the output of dossier audit heads, or one signed note): each must verify and be the tree of the log's first events. Repeatable." type:"existingfile"`
}

// Run verifies, prints the report, and fails (exit status 1) naming the first position that differs.
func (c *AuditVerifyCmd) Run(ctx context.Context, logger *slog.Logger) error {
	v, err := c.verifier()
	if err != nil {
		return err
	}
	logger = withLevel(logger, c.LogLevel)
	st, err := openStores(ctx, &c.Config, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	var kept []string
	for _, f := range c.Heads {
		notes, err := readKeptHeads(f)
		if err != nil {
			return err
		}
		kept = append(kept, notes...)
	}
	start := time.Now()
	rep, err := auditlog.VerifyKept(ctx, auditlog.ReadAll(st.Events), v, storedLeaves(audittree.NewQueries(st.DB)), kept)
	if err != nil {
		return err
	}
	if len(kept) > 0 {
		fmt.Printf("heads kept outside the log: %d checked\n", len(kept))
	}
	return printVerify(os.Stdout, rep, v, time.Since(start))
}

// keptHead is a line of `dossier audit heads`: the signed note (the authority) and what it says, for reading.
type keptHead struct {
	Size       int64     `json:"size"`
	Root       string    `json:"root"`
	LastCommit uint64    `json:"last_commit,string"`
	SignedAt   time.Time `json:"signed_at"`
	KeyID      string    `json:"key_id"`
	Position   uint64    `json:"position,string"`
	Note       string    `json:"note"`
}

// readKeptHeads reads the signed notes of a file: JSON Lines of `dossier audit heads`, or one signed note as is.
func readKeptHeads(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	text := strings.TrimSpace(string(b))
	if !strings.HasPrefix(text, "{") {
		return []string{string(b)}, nil
	}
	var notes []string
	for i, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var h keptHead
		if err := json.Unmarshal([]byte(line), &h); err != nil || h.Note == "" {
			return nil, fmt.Errorf("--head %s: line %d is not a head of dossier audit heads", path, i+1)
		}
		notes = append(notes, h.Note)
	}
	return notes, nil
}

// AuditHeadsCmd prints the signed tree heads of the log as JSON Lines, for auditors to keep outside Dossier (a
// witness): `dossier audit verify --head FILE` then checks the log against their copy, which catches heads removed
// from the log with the events they covered.
type AuditHeadsCmd struct {
	Config `embed:""`
	Since  string `name:"since" help:"Only the heads signed at or after this instant (RFC 3339)."`
	Out    string `name:"out" help:"The file to write (default: standard output)." type:"path"`

	stdout io.Writer
}

// Run prints the heads, oldest first.
func (c *AuditHeadsCmd) Run(ctx context.Context, logger *slog.Logger) error {
	var since time.Time
	if c.Since != "" {
		t, err := time.Parse(time.RFC3339Nano, c.Since)
		if err != nil {
			return fmt.Errorf("--since %q is not an RFC 3339 instant", c.Since)
		}
		since = t
	}
	logger = withLevel(logger, c.LogLevel)
	st, err := openStores(ctx, &c.Config, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	store, err := eventStore(st.Events, st.Keys)
	if err != nil {
		return err
	}
	heads, err := auditlog.Heads(ctx, store)
	if err != nil {
		return err
	}
	out := stdoutOr(c.stdout)
	if c.Out != "" {
		f, err := os.OpenFile(c.Out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	_, err = writeExport(out, func(emit func(keptHead) error) error {
		for _, h := range heads {
			if h.At.Before(since) {
				continue
			}
			if err := emit(keptHead{Size: h.Size, Root: h.Root.String(), LastCommit: h.LastCommit, SignedAt: h.At,
				KeyID: h.KeyID, Position: h.Position, Note: h.Note}); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

func (c *AuditVerifyCmd) verifier() (*auditlog.Verifier, error) {
	if c.PublicKey != "" {
		return parsePublicKey(c.PublicKey)
	}
	key, err := c.auditKey()
	if err != nil {
		return nil, err
	}
	return key.Verifier(), nil
}

// storedLeaves reads the read model's leaves for Verify; a tree table that does not exist yet compares nothing.
func storedLeaves(q *audittree.Queries) auditlog.StoredLeaves {
	return func(ctx context.Context, from int64, fn func(int64, uint64, tlog.Hash) (bool, error)) error {
		if _, err := q.Last(ctx); err != nil {
			return nil // no audit tree in this database (never served): nothing to compare
		}
		return q.Leaves(ctx, from, func(s audittree.Stored) (bool, error) { return fn(s.Leaf, s.Commit, s.Hash) })
	}
}

// printVerify writes the report; problems make an error naming the first position that differs.
func printVerify(w io.Writer, rep *auditlog.Report, v *auditlog.Verifier, took time.Duration) error {
	fmt.Fprintf(w, "events (leaves): %d, recomputed in %s\n", rep.Leaves, took.Round(time.Millisecond))
	fmt.Fprintf(w, "signed heads: %d found, %d verified with %s\n", rep.Heads, rep.Verified, v.KeyID())
	if rep.Latest != nil {
		fmt.Fprintf(w, "latest good head: %d events up to position %d, root %s, signed %s\n", rep.Latest.Size,
			rep.Latest.LastCommit, rep.Latest.Root, rep.Latest.At.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "events after it, not signed yet: %d\n", rep.Unsigned)
	if rep.OK() {
		fmt.Fprintln(w, "OK: the log matches every signed head")
		return nil
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "PROBLEM: %s\n", p)
	}
	if first, ok := rep.First(); ok {
		return fmt.Errorf("audit verify: the log differs at position %d (leaf %d): %s", first.Position, first.Leaf, first.Reason)
	}
	return fmt.Errorf("audit verify: %s", rep.Problems[0])
}

// parsePublicKey reads a public key given as is, or in the file it names.
func parsePublicKey(s string) (*auditlog.Verifier, error) {
	if !strings.Contains(s, "+") {
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		s = string(b)
	}
	return auditlog.ParseVerifier(s)
}

// AuditCheckCmd verifies a bundle offline: no server, no database, only the file and the public key.
type AuditCheckCmd struct {
	File      string `arg:"" name:"file" help:"Bundle to check (JSON Lines: dossier audit export --proofs)."`
	PublicKey string `name:"public-key" required:"" help:"The audit public key (dossier-audit+…, from dossier audit public-key), or a file holding it."`
}

// Run checks the bundle and prints what it proves.
func (c *AuditCheckCmd) Run() error {
	v, err := parsePublicKey(c.PublicKey)
	if err != nil {
		return err
	}
	f, err := os.Open(c.File)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := auditlog.Check(f, v)
	if err != nil {
		return fmt.Errorf("audit check %s: %w", c.File, err)
	}
	fmt.Printf("OK: %d events proven in the tree of %d events (up to position %d) signed by %s at %s, root %s\n",
		res.Events, res.Head.Size, res.Head.LastCommit, res.KeyID, res.Head.At.Format(time.RFC3339), res.Head.Root)
	return nil
}

// catchUpWait bounds how long a command waits for the audit tree to reach the last event of the log.
const catchUpWait = 5 * time.Minute

// catchUpTree brings the audit tree up to the last event of the log before a command signs or proves: it runs the
// tree's projection here (if a server runs it, this runner stands by and the server's catches up) and waits until
// the tree holds the last non-system event.
func catchUpTree(ctx context.Context, st *stores, logger *slog.Logger) error {
	target, err := lastEventPosition(ctx, st.Events)
	if err != nil || target == 0 {
		return err
	}
	registry, err := eventRegistry(st.Keys)
	if err != nil {
		return err
	}
	r, err := projections.NewRunner(st.DB, kurrentdb.NewSource(st.Events, kurrentdb.NewCodec(registry)),
		projections.Options{Logger: logger.With("component", "projections")}, audittree.New())
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	defer func() { cancel(); <-done }()
	q := audittree.NewQueries(st.DB)
	deadline := time.Now().Add(catchUpWait)
	for {
		if _, last, _, err := q.Size(ctx); err == nil && last >= target {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the audit tree has not reached position %d after %s: %w", target, catchUpWait, auditlog.ErrTreeBehind)
		}
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("audit tree: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// lastEventPosition returns the commit position of the last event of $all that is not the store's own (0: none).
func lastEventPosition(ctx context.Context, client *kurrentdb.Client) (uint64, error) {
	var pos uint64
	err := client.ReadAll(ctx, "audit.last-event", true, 0, 4096, func(rec event.Record) error {
		pos = rec.Position
		return kurrentdb.ErrStopReading
	})
	if err != nil {
		return 0, fmt.Errorf("read the last event of the log: %w", err)
	}
	return pos, nil
}
