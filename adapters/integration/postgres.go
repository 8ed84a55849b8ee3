package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	_ "github.com/lib/pq" // the "postgres" database/sql driver
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/domain/failure"
)

// ConsumerGroup is Dossier's consumer group on FinanceTopic: the key of its row in the offsets table, hence its
// position in the topic. Never change it: another group starts again from the first message of the table.
const ConsumerGroup = "dossier"

// Tuning of the PostgreSQL subscriber (see the package documentation).
const (
	// postgresBatchSize is how many messages one polling transaction reads. The transaction stays open (holding the
	// group's offset row) while they are handled, and a crash redelivers the whole batch: small batches keep both
	// short; recording is idempotent, so a redelivery only costs time.
	postgresBatchSize = 10
	// postgresAckDeadline bounds how long one message may stay unacknowledged in a polling transaction; past it the
	// transaction ends (offsets of the messages acknowledged before it are stored) and the message comes again in
	// the next one.
	postgresAckDeadline = 30 * time.Second
	// postgresResendInterval is the subscriber's own pause before a nacked message comes again: the Consumer has
	// already waited its RetryDelay.
	postgresResendInterval = 10 * time.Millisecond
)

// PostgresConfig configures the PostgreSQL transport of FinanceTopic.
type PostgresConfig struct {
	// URL is the PostgreSQL connection URL (postgres://user:password@host:port/db?sslmode=…) of the database where
	// the fund's systems publish. Secret: never logged.
	URL string
	// PollInterval is how long the subscriber waits before looking again when the topic had nothing new (default
	// 1s): the latency of a fact when the topic is idle, against one small query per interval.
	PollInterval time.Duration
	// Logger receives the subscriber's logs (watermill's; its routine Info logs at Debug); nil discards them. While
	// the broker is away, one warning when polling starts failing and one line when it works again (brokerWatch).
	Logger *slog.Logger
	// Registerer, if set, gets the broker's metrics (dossier_integration_broker_up and
	// dossier_integration_broker_poll_failures_total).
	Registerer prometheus.Registerer
}

// Postgres is the PostgreSQL transport of FinanceTopic: a watermill-sql subscriber in consumer group ConsumerGroup
// over watermill-sql's default PostgreSQL schema (see the package documentation), on its own connection pool.
type Postgres struct {
	db  *sql.DB
	sub *wmsql.Subscriber
}

// OpenPostgres prepares the transport. It does not connect: the first subscription does (and creates the topic's
// tables if they are missing), so that a broker out of reach at start-up delays the consumer without stopping
// Dossier.
func OpenPostgres(cfg PostgresConfig) (*Postgres, error) {
	const op = "integration.OpenPostgres"
	if cfg.URL == "" {
		return nil, failure.Errorf(failure.Invalid, "%s: no URL", op)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db, err := sql.Open("postgres", cfg.URL)
	if err != nil {
		// lib/pq's parse errors do not quote the URL; the error is still kept out of logs by the caller's wrapping.
		return nil, failure.Wrap(op, failure.Invalid, errors.New("integration URL cannot be parsed"))
	}
	// One polling transaction at a time, plus room for readiness pings and schema creation.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(2)
	db.SetConnMaxIdleTime(5 * time.Minute)
	ack := postgresAckDeadline
	watch, err := newBrokerWatch(cfg.PollInterval, cfg.PollInterval, logger, cfg.Registerer)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	sub, err := wmsql.NewSubscriber(wmsql.BeginnerFromStdSQL(db), wmsql.SubscriberConfig{
		ConsumerGroup:    ConsumerGroup,
		AckDeadline:      &ack,
		PollInterval:     cfg.PollInterval,
		ResendInterval:   postgresResendInterval,
		RetryInterval:    cfg.PollInterval,
		BackoffManager:   watch,
		SchemaAdapter:    wmsql.DefaultPostgreSQLSchema{SubscribeBatchSize: postgresBatchSize},
		OffsetsAdapter:   wmsql.DefaultPostgreSQLOffsetsAdapter{},
		InitializeSchema: true,
	}, quietWhileDown{LoggerAdapter: watermill.NewSlogLoggerWithLevelMapping(logger,
		map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug}), watch: watch})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return &Postgres{db: db, sub: sub}, nil
}

// Subscriber returns the transport's subscriber, for a Consumer.
func (p *Postgres) Subscriber() message.Subscriber { return p.sub }

// Ping checks that the broker's database answers.
func (p *Postgres) Ping(ctx context.Context) error {
	if err := p.db.PingContext(ctx); err != nil {
		return failure.Wrap("integration.Ping", failure.Unavailable, err)
	}
	return nil
}

// Close stops the subscriber (a message in flight is not acknowledged: it comes again) and closes the pool.
func (p *Postgres) Close() error {
	return errors.Join(p.sub.Close(), p.db.Close())
}
