package integration

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/depcheck"
	"github.com/msa-dossier/dossier/domain/failure"
)

// Metrics counts the finance messages a Consumer handled, by outcome and, for rejected and retried ones, by error
// code: a stable code such as "consultation.amount_invalid", or the kind's ("unavailable") for an error without
// one; "" for the other outcomes. Labels never hold an id or personal data.
type Metrics struct {
	messages *prometheus.CounterVec
}

// NewMetrics registers the consumer's counter, dossier_integration_finance_messages_total{outcome, code}, on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	return newMetrics(reg, "dossier_integration_finance_messages_total",
		"Finance messages consumed from "+FinanceTopic+", by outcome (recorded, unchanged, parked, rejected, retried) and error code.",
		OutcomeRecorded, OutcomeUnchanged, OutcomeParked)
}

// NewDocumentMetrics registers the documents consumer's counter,
// dossier_integration_documents_messages_total{outcome, code}, on reg.
func NewDocumentMetrics(reg prometheus.Registerer) (*Metrics, error) {
	return newMetrics(reg, "dossier_integration_documents_messages_total",
		"Document messages consumed from "+DocumentsTopic+", by outcome (recorded, unchanged, rejected, retried) and error code.",
		OutcomeRecorded, OutcomeUnchanged)
}

func newMetrics(reg prometheus.Registerer, name, help string, present ...Outcome) (*Metrics, error) {
	m := &Metrics{messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help},
		[]string{"outcome", "code"})}
	if err := reg.Register(m.messages); err != nil {
		return nil, err
	}
	for _, o := range present {
		m.messages.WithLabelValues(string(o), "") // present, at 0, before the first message
	}
	return m, nil
}

func (m *Metrics) observe(o Outcome, code string) {
	if m != nil {
		m.messages.WithLabelValues(string(o), code).Inc()
	}
}

// ConsumerConfig configures a Consumer. Subscriber and Handle are required.
type ConsumerConfig struct {
	// Subscriber delivers the messages of Topic (NewPostgres's, or any watermill Subscriber).
	Subscriber message.Subscriber
	// Topic is the topic consumed; default FinanceTopic. Name is what the logs call the consumer and its messages;
	// default "finance" ("document" for DocumentsTopic).
	Topic, Name string
	// Handle is what to do with each message, normally Finance(commands).
	Handle FinanceFunc
	// Logger receives the consumer's logs: message UUIDs, outcomes and error codes, never a message's data; nil
	// discards them.
	Logger *slog.Logger
	// Metrics, when not nil, counts the messages by outcome.
	Metrics *Metrics
	// RetryDelay is how long a message that failed for a transient reason waits before it is nacked (and delivered
	// again); also the first delay between attempts to subscribe. Default 1s.
	RetryDelay time.Duration
	// Ping, when not nil, checks that the broker answers; Ready calls it.
	Ping func(ctx context.Context) error
}

// Consumer consumes one topic (FinanceTopic, DocumentsTopic): one message at a time, in the order the subscriber delivers them. It acknowledges
// a message when Handle succeeds or fails with an Invalid error (logged with its code, kind and field, never the
// message's data: retrying cannot succeed, and a message left unacknowledged would block the topic), and nacks it
// otherwise, after RetryDelay, so that it is delivered again until the failure is over.
type Consumer struct {
	cfg ConsumerConfig

	mu         sync.Mutex
	subscribed bool
	lastErr    error
}

// NewConsumer checks cfg and returns a Consumer; Run starts it.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	if err := depcheck.New("integration: consumer").Require("Subscriber", cfg.Subscriber).
		Require("Handle", cfg.Handle).Err(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Topic == "" {
		cfg.Topic = FinanceTopic
	}
	if cfg.Name == "" {
		cfg.Name = "finance"
		if cfg.Topic == DocumentsTopic {
			cfg.Name = "document"
		}
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = time.Second
	}
	return &Consumer{cfg: cfg}, nil
}

// maxSubscribeDelay bounds the back-off between attempts to subscribe.
const maxSubscribeDelay = 30 * time.Second

// Run subscribes to the topic and handles messages until ctx ends (then it returns nil). A subscription that
// cannot be made (the broker out of reach, the topic's tables not creatable) is tried again with back-off, up to
// every 30s, and reported by Ready meanwhile: an integration broker that is down never stops the rest of Dossier.
func (c *Consumer) Run(ctx context.Context) error {
	delay := c.cfg.RetryDelay
	for {
		msgs, err := c.cfg.Subscriber.Subscribe(ctx, c.cfg.Topic)
		if err == nil {
			c.setState(true, nil)
			c.cfg.Logger.Info(c.cfg.Name+" consumer subscribed", "topic", c.cfg.Topic)
			c.consume(ctx, msgs)
			c.setState(false, nil)
			if ctx.Err() != nil {
				return nil
			}
			c.cfg.Logger.Warn(c.cfg.Name+" subscription closed by the broker; subscribing again", "topic", c.cfg.Topic)
			delay = c.cfg.RetryDelay
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		err = failure.Wrap("integration.Subscribe", failure.Unavailable, err)
		c.setState(false, err)
		c.cfg.Logger.Error(c.cfg.Name+" consumer cannot subscribe; trying again", "topic", c.cfg.Topic,
			"retry_in", delay.String(), "error", err.Error())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, maxSubscribeDelay)
	}
}

// consume handles the messages of one subscription until it closes or ctx ends.
func (c *Consumer) consume(ctx context.Context, msgs <-chan *message.Message) {
	for {
		var msg *message.Message
		var ok bool
		select {
		case <-ctx.Done():
			return
		case msg, ok = <-msgs:
			if !ok {
				return
			}
		}
		msg.SetContext(ctx)
		outcome, err := c.cfg.Handle(msg)
		if err != nil && failure.KindOf(err) != failure.Invalid {
			outcome = OutcomeRetried
		} else if err != nil {
			outcome = OutcomeRejected
		}
		code := ""
		if err != nil {
			code = failure.CodeOf(err)
		}
		c.cfg.Metrics.observe(outcome, code)
		switch outcome {
		case OutcomeRejected:
			c.cfg.Logger.Warn(c.cfg.Name+" message rejected", "message_uuid", msg.UUID, "code", code,
				"field", failure.FieldOf(err))
			msg.Ack()
		case OutcomeRetried:
			c.cfg.Logger.Error(c.cfg.Name+" message not handled, will retry", "message_uuid", msg.UUID,
				"kind", failure.KindOf(err).String(), "code", code)
			select {
			case <-ctx.Done():
			case <-time.After(c.cfg.RetryDelay):
			}
			msg.Nack()
		default:
			c.cfg.Logger.Debug(c.cfg.Name+" message handled", "message_uuid", msg.UUID, "outcome", string(outcome))
			msg.Ack()
		}
	}
}

func (c *Consumer) setState(subscribed bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subscribed, c.lastErr = subscribed, err
}

// ErrNotSubscribed is Ready's answer while the consumer has no subscription (starting, or the broker out of reach).
var ErrNotSubscribed = errors.New("integration consumer not subscribed")

// Ready reports whether the consumer has a subscription and, when Ping is set, whether the broker answers. It is the
// integration check of /readyz.
func (c *Consumer) Ready(ctx context.Context) error {
	c.mu.Lock()
	subscribed, lastErr := c.subscribed, c.lastErr
	c.mu.Unlock()
	if !subscribed {
		if lastErr != nil {
			return errors.Join(ErrNotSubscribed, lastErr)
		}
		return ErrNotSubscribed
	}
	if c.cfg.Ping != nil {
		return c.cfg.Ping(ctx)
	}
	return nil
}

// Consume runs a Consumer of FinanceTopic on sub that hands every message to handle (see Consumer): it returns when
// ctx ends.
func Consume(ctx context.Context, sub message.Subscriber, handle FinanceFunc, logger *slog.Logger) error {
	c, err := NewConsumer(ConsumerConfig{Subscriber: sub, Handle: handle, Logger: logger})
	if err != nil {
		return err
	}
	return c.Run(ctx)
}
