package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// Config is what `dossier serve` (and the commands that open the same stores) run with. Every field comes
// from a flag or a DOSSIER_* environment variable; the defaults are the embedded mode: an in-process event
// store node under ./var/events, SQLite at ./var/dossier.db, mail as files in ./var/outbox.
type Config struct {
	HTTPAddr      string `name:"http-addr" env:"DOSSIER_HTTP_ADDR" default:"127.0.0.1:8080" help:"HTTP listen address."`
	KurrentDBURL  string `name:"kurrentdb-url" env:"DOSSIER_KURRENTDB_URL" help:"KurrentDB connection string (esdb://…). Empty: run the embedded node. Secret (may hold credentials); DOSSIER_KURRENTDB_URL_FILE reads it from a file."`
	EventsDir     string `name:"events-dir" env:"DOSSIER_EVENTS_DIR" default:"./var/events" help:"Data directory of the embedded event-store node."`
	NodeListen    string `name:"node-listen" env:"DOSSIER_NODE_LISTEN" default:"127.0.0.1:0" help:"Address of the embedded node's gRPC port (loopback; 0 picks a free port)."`
	DBConfig      `embed:""`
	OutboxDir     string `name:"outbox-dir" env:"DOSSIER_OUTBOX_DIR" default:"./var/outbox" help:"Mail outbox: one .eml file per message when no SMTP server is set."`
	KeyConfig     `embed:""`
	DataKeyConfig `embed:""`
	SMTPURL       string `name:"smtp-url" env:"DOSSIER_SMTP_URL" help:"SMTP server for mail: smtp://user:password@host:587?tls=starttls (tls=none|starttls|implicit). Empty: .eml files in the outbox directory. Secret; DOSSIER_SMTP_URL_FILE reads it from a file."`
	MailFrom      string `name:"mail-from" env:"DOSSIER_MAIL_FROM" default:"Mon espace privé <ne-pas-repondre@msa.invalid>" help:"Sender of the mails Dossier sends."`
	LogLevel      string `name:"log-level" env:"DOSSIER_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level."`

	MaxBodyBytes            int64         `name:"max-body-bytes" env:"DOSSIER_MAX_BODY_BYTES" default:"1048576" help:"Largest accepted request body."`
	RequestTimeout          time.Duration `name:"request-timeout" env:"DOSSIER_REQUEST_TIMEOUT" default:"15s" help:"Deadline of each HTTP request."`
	ConsistencyTimeout      time.Duration `name:"consistency-timeout" env:"DOSSIER_CONSISTENCY_TIMEOUT" default:"2s" help:"How long a read waits for the read models to reach a position it was given."`
	DeadlineCheck           time.Duration `name:"deadline-check-interval" env:"DOSSIER_DEADLINE_CHECK_INTERVAL" default:"30s" help:"How often lapsed information deadlines are looked for (and their cases closed)."`
	AppointmentReminderLead time.Duration `name:"appointment-reminder-lead" env:"DOSSIER_APPOINTMENT_REMINDER_LEAD" default:"24h" help:"How long before an appointment its reminder mail is sent (checked every deadline-check-interval)."`
	ReactionRetention       time.Duration `name:"reactions-processed-retention" env:"DOSSIER_REACTIONS_PROCESSED_RETENTION" default:"720h" help:"How long a reaction's processed-event keys are kept once its checkpoint is past them (pruned hourly; 0 or negative: never pruned)."`
	ReactionInFlightWindow  time.Duration `name:"reactions-in-flight-window" env:"DOSSIER_REACTIONS_IN_FLIGHT_WINDOW" default:"2m" help:"How long a replica that crashed between a reaction's mail (or other external effect) and its record holds the effect off; after it, the effect is done again with the same key. More than an effect's time plus the clock skew between replicas."`
	ShutdownTimeout         time.Duration `name:"shutdown-timeout" env:"DOSSIER_SHUTDOWN_TIMEOUT" default:"10s" help:"Grace period for requests in flight at shutdown."`

	// The reactions' checkpoint interval (session 8: BENCHMARKS.md, "Writer traffic").
	ReactionCheckpointInterval time.Duration `name:"reactions-checkpoint-interval" env:"DOSSIER_REACTIONS_CHECKPOINT_INTERVAL" default:"0s" help:"How often the reactions' checkpoints are stored (0: the default; negative: at every acknowledged event). A crash repeats at most this much of their acknowledged events (keyed effects are not done twice)."`

	// The finance-facts consumer (adapters/integration): off unless a broker is named.
	IntegrationURL         string        `name:"integration-url" env:"DOSSIER_INTEGRATION_URL" help:"PostgreSQL URL (postgres://user:password@host:5432/db?sslmode=…) of the integration broker where the fund's systems publish finance facts (topic dossier.finance-facts) and documents for members' inboxes (topic dossier.documents) with watermill-sql. Empty: no consumer; dossier admin import-finance and publish-document are the feeds. Secret; DOSSIER_INTEGRATION_URL_FILE reads it from a file."`
	IntegrationDocumentMax int64         `name:"integration-document-max-bytes" env:"DOSSIER_INTEGRATION_DOCUMENT_MAX_BYTES" default:"10485760" help:"Largest document (decoded, in bytes) the consumer of topic dossier.documents publishes into a member's inbox; larger ones are rejected and counted."`
	IntegrationPoll        time.Duration `name:"integration-poll-interval" env:"DOSSIER_INTEGRATION_POLL_INTERVAL" default:"1s" help:"How often the integration consumer looks for new messages while the topic is idle."`

	// The members' deposits of documents (documents.go).
	DocumentConfig `embed:""`
	// The audit tree's signing key and head interval (audit_tlog.go).
	AuditConfig `embed:""`
}

// DBConfig names the read-model database. Commands that only read it (reactions, projections status) embed
// it alone.
type DBConfig struct {
	SQLitePath  string `name:"sqlite-path" env:"DOSSIER_SQLITE_PATH" default:"./var/dossier.db" help:"SQLite read-model database (used when no PostgreSQL URL is set)."`
	PostgresURL string `name:"postgres-url" env:"DOSSIER_POSTGRES_URL" help:"PostgreSQL URL for the read models. Empty: SQLite. Secret; DOSSIER_POSTGRES_URL_FILE reads it from a file."`
	ReplicaID   string `name:"replica-id" env:"DOSSIER_REPLICA_ID" help:"Name of this process in the record of which replica holds which projection and reaction (projections status, reactions status). Empty: host name and process id."`
}

// target returns the dialect and data source name.
func (c DBConfig) target() (sqldb.Dialect, string) {
	if c.PostgresURL != "" {
		return sqldb.Postgres, c.PostgresURL
	}
	return sqldb.SQLite, c.SQLitePath
}

// ReadModelName says where the read models live, for start-up lines (no secrets).
func (c DBConfig) ReadModelName() string {
	if c.PostgresURL != "" {
		return "PostgreSQL " + redactURL(c.PostgresURL)
	}
	return "SQLite " + c.SQLitePath
}

// open opens the read-model database.
func (c DBConfig) open(ctx context.Context, logger *slog.Logger) (*sqldb.DB, error) {
	dialect, dsn := c.target()
	db, err := sqldb.Open(ctx, dialect, dsn, sqldb.Options{Logger: logger.With("component", "sqldb"), Holder: c.ReplicaID})
	if err != nil {
		return nil, fmt.Errorf("open the read-model database: %w", err)
	}
	return db, nil
}

// KeyConfig names the server key: keyed hashes of NIRs and logins (lookup streams), one-time codes, TOTP
// secrets and the member directory's NIR index all derive from it, so it must never change once data exists.
type KeyConfig struct {
	SecretKey     string `name:"secret-key" env:"DOSSIER_SECRET_KEY" help:"Server key (64 hex characters) for keyed hashes of NIRs and codes. Empty: ./var/secret.key, created once. Secret; DOSSIER_SECRET_KEY_FILE reads it from a file."`
	SecretKeyPath string `name:"secret-key-path" env:"DOSSIER_SECRET_KEY_PATH" default:"./var/secret.key" help:"Where the embedded default keeps its generated server key."`
}

// keyedHasher returns the keyed hash under the server key: the given key (64 hexadecimal characters) when set,
// else the key file at SecretKeyPath, generated on first use (embedded default).
func (c KeyConfig) keyedHasher() (*keyedhash.Hasher, error) {
	if c.SecretKey != "" {
		h, err := keyedhash.FromHex(c.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("secret-key: %w", err)
		}
		return h, nil
	}
	h, err := keyedhash.LoadOrCreateKeyFile(c.SecretKeyPath)
	if err != nil {
		return nil, fmt.Errorf("secret-key-path: %w", err)
	}
	return h, nil
}

// DataKeyConfig names the key-encryption key (KEK) that wraps the data keys sealing personal data in events (the key
// store, adapters/keystore). Losing it loses every member's personal data; changing it takes a rotation (dossier admin
// rotate-kek), never a plain swap.
type DataKeyConfig struct {
	DataKEK         string `name:"data-kek" env:"DOSSIER_DATA_KEK" help:"Key-encryption key of the personal-data keys (64 hex characters). Empty: ./var/data.kek, created once. Secret; DOSSIER_DATA_KEK_FILE reads it from a file."`
	DataKEKPath     string `name:"data-kek-path" env:"DOSSIER_DATA_KEK_PATH" default:"./var/data.kek" help:"Where the embedded default keeps its generated data KEK."`
	DataKEKPrevious string `name:"data-kek-previous" env:"DOSSIER_DATA_KEK_PREVIOUS" help:"Previous data KEKs (64 hex characters each, comma-separated), still readable during a rotation (see dossier admin rotate-kek). Secret; DOSSIER_DATA_KEK_PREVIOUS_FILE reads it from a file."`
}

// previousKEKs returns the hexadecimal KEKs of DataKEKPrevious (empty items ignored).
func (c DataKeyConfig) previousKEKs() []string {
	var out []string
	for _, s := range strings.Split(c.DataKEKPrevious, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// problems lists what is wrong with the settings (for Config.Validate), never echoing a key.
func (c DataKeyConfig) problems() []error {
	var errs []error
	if c.DataKEK != "" {
		if _, err := keystore.ParseKEK(c.DataKEK); err != nil {
			errs = append(errs, fmt.Errorf("data-kek: %w", err))
		}
	} else if c.DataKEKPath == "" {
		errs = append(errs, errors.New("data-kek-path must be set when no data KEK is given"))
	}
	for i, s := range c.previousKEKs() {
		if _, err := keystore.ParseKEK(s); err != nil {
			errs = append(errs, fmt.Errorf("data-kek-previous (item %d): %w", i+1, err))
		}
	}
	return errs
}

// keystoreConfig returns the key store's settings: the given KEK when set, else the key file at DataKEKPath,
// generated on first use (embedded default); and the previous KEKs.
func (c DataKeyConfig) keystoreConfig() (keystore.Config, error) {
	if errs := c.problems(); len(errs) > 0 {
		return keystore.Config{}, errors.Join(errs...)
	}
	var cfg keystore.Config
	if c.DataKEK != "" {
		cfg.KEK, _ = keystore.ParseKEK(c.DataKEK)
	} else {
		k, err := keystore.LoadOrCreateKEKFile(c.DataKEKPath)
		if err != nil {
			return keystore.Config{}, fmt.Errorf("data-kek-path: %w", err)
		}
		cfg.KEK = k
	}
	for _, s := range c.previousKEKs() {
		k, _ := keystore.ParseKEK(s)
		cfg.PreviousKEKs = append(cfg.PreviousKEKs, k)
	}
	return cfg, nil
}

// describe says which data KEK is used, by its id (a hash, never the key), for start-up lines.
func (c DataKeyConfig) describe() string {
	d := "file " + c.DataKEKPath
	if c.DataKEK != "" {
		d = "given"
		if k, err := keystore.ParseKEK(c.DataKEK); err == nil {
			d += " (id " + keystore.KEKID(k) + ")"
		}
	}
	if n := len(c.previousKEKs()); n > 0 {
		d += fmt.Sprintf(", %d previous", n)
	}
	return d
}

// secretEnv lists the variables that hold secrets: each also accepts NAME_FILE, the path of a file holding it.
var secretEnv = []string{"DOSSIER_KURRENTDB_URL", "DOSSIER_BLOBS_URL", "DOSSIER_POSTGRES_URL", "DOSSIER_SECRET_KEY", "DOSSIER_SMTP_URL",
	"DOSSIER_INTEGRATION_URL", "DOSSIER_DATA_KEK", "DOSSIER_DATA_KEK_PREVIOUS", "DOSSIER_AUDIT_SIGNING_KEY"}

// loadSecretFiles sets NAME from the file named by NAME_FILE, for every secret variable, before flags and
// environment are parsed. Setting both is an error: which one wins would be a guess.
func loadSecretFiles() error {
	var errs []error
	for _, name := range secretEnv {
		path, ok := os.LookupEnv(name + "_FILE")
		if !ok {
			continue
		}
		if _, both := os.LookupEnv(name); both {
			errs = append(errs, fmt.Errorf("%s and %s_FILE are both set: set only one", name, name))
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
			continue
		}
		os.Setenv(name, strings.TrimSpace(string(b)))
	}
	return errors.Join(errs...)
}

// Embedded reports whether Dossier runs its own event-store node.
func (c *Config) Embedded() bool { return c.KurrentDBURL == "" }

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	_, _, err := net.SplitHostPort(c.HTTPAddr)
	check(err == nil, "http-addr %q: want host:port", c.HTTPAddr)
	if c.Embedded() {
		check(c.EventsDir != "", "events-dir must be set when no KurrentDB URL is given")
		_, _, err := net.SplitHostPort(c.NodeListen)
		check(err == nil, "node-listen %q: want host:port", c.NodeListen)
	} else {
		u, err := url.Parse(c.KurrentDBURL)
		check(err == nil && (u.Scheme == "esdb" || u.Scheme == "esdb+discover" || u.Scheme == "kurrentdb" || u.Scheme == "kurrentdb+discover"),
			"kurrentdb-url: want esdb://host:port?… or esdb+discover://…")
	}
	if c.PostgresURL == "" {
		check(c.SQLitePath != "", "sqlite-path must be set when no PostgreSQL URL is given")
	} else {
		u, err := url.Parse(c.PostgresURL)
		check(err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql"), "postgres-url: want postgres://user@host:port/db?…")
	}
	if c.SecretKey != "" {
		k, err := hex.DecodeString(c.SecretKey)
		check(err == nil && len(k) == 32, "secret-key: want 64 hexadecimal characters (32 bytes)")
	} else {
		check(c.SecretKeyPath != "", "secret-key-path must be set when no secret key is given")
	}
	errs = append(errs, c.DataKeyConfig.problems()...)
	errs = append(errs, c.AuditConfig.problems()...)
	if c.SMTPURL != "" {
		u, err := url.Parse(c.SMTPURL)
		check(err == nil && (u.Scheme == "smtp" || u.Scheme == "smtps") && u.Host != "", "smtp-url: want smtp://user:password@host:port?tls=starttls")
	}
	if c.IntegrationURL != "" {
		u, err := url.Parse(c.IntegrationURL)
		check(err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") && u.Host != "",
			"integration-url: want postgres://user:password@host:port/db?…")
	}
	check(c.IntegrationPoll >= 10*time.Millisecond && c.IntegrationPoll <= time.Hour,
		"integration-poll-interval must be between 10ms and 1h")
	check(c.IntegrationDocumentMax >= 1024 && c.IntegrationDocumentMax <= 64<<20,
		"integration-document-max-bytes %d: between 1024 and 67108864", c.IntegrationDocumentMax)
	check(c.OutboxDir != "", "outbox-dir must be set")
	check(c.MaxBodyBytes >= 1024, "max-body-bytes %d: at least 1024", c.MaxBodyBytes)
	check(c.RequestTimeout > 0, "request-timeout must be positive")
	check(c.ConsistencyTimeout > 0 && c.ConsistencyTimeout < c.RequestTimeout, "consistency-timeout must be positive and below request-timeout")
	check(c.ShutdownTimeout > 0, "shutdown-timeout must be positive")
	check(c.DeadlineCheck >= 100*time.Millisecond, "deadline-check-interval must be at least 100ms")
	check(c.AppointmentReminderLead > 0, "appointment-reminder-lead must be positive")
	return errors.Join(errs...)
}

// Redacted returns the configuration as printable pairs, secrets hidden.
func (c *Config) Redacted() []any {
	eventStore := "embedded node, data in " + c.EventsDir
	if !c.Embedded() {
		eventStore = "KurrentDB " + redactURL(c.KurrentDBURL)
	}
	mail := "outbox " + c.OutboxDir
	if c.SMTPURL != "" {
		mail = "SMTP " + redactURL(c.SMTPURL)
	}
	integration := "none (dossier admin import-finance)"
	if c.IntegrationURL != "" {
		integration = "PostgreSQL " + redactURL(c.IntegrationURL)
	}
	return []any{"http", c.HTTPAddr, "event_store", eventStore, "read_models", c.ReadModelName(), "mail", mail,
		"outbox", c.OutboxDir, "integration", integration, "data_kek", c.DataKeyConfig.describe()}
}

// redactURL keeps scheme, host and path, and hides user info and every query value (they may hold passwords).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable, hidden)"
	}
	if u.User != nil {
		u.User = url.User("****")
	}
	q := u.Query()
	for k := range q {
		if k != "tls" && k != "sslmode" {
			q.Set(k, "****")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
