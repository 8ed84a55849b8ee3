package integration

import (
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/prometheus/client_golang/prometheus"
)

// brokerWatch is the PostgreSQL subscriber's BackoffManager: watermill-sql's default back-off (the same pauses),
// with its log changed. The default logs an ERROR on every failed poll (every PollInterval, 100 ms in the fault
// tests) for as long as the broker is away; brokerWatch logs one warning when polling starts failing and one line
// when a poll succeeds again, and counts the failed polls meanwhile (dossier_integration_broker_poll_failures_total,
// dossier_integration_broker_up). The state is the subscriber's, shared by its topics: they poll the same database.
type brokerWatch struct {
	next     wmsql.BackoffManager
	logger   *slog.Logger
	failures prometheus.Counter // nil without a registry
	up       prometheus.Gauge   // nil without a registry

	mu    sync.Mutex
	down  bool
	since time.Time
	fails int
}

func newBrokerWatch(pollInterval, retryInterval time.Duration, logger *slog.Logger, reg prometheus.Registerer) (*brokerWatch, error) {
	w := &brokerWatch{next: wmsql.NewDefaultBackoffManager(pollInterval, retryInterval), logger: logger}
	if reg == nil {
		return w, nil
	}
	w.failures = prometheus.NewCounter(prometheus.CounterOpts{Name: "dossier_integration_broker_poll_failures_total",
		Help: "Polls of the integration broker (watermill-sql subscriber) that failed: the broker away or refusing."})
	w.up = prometheus.NewGauge(prometheus.GaugeOpts{Name: "dossier_integration_broker_up",
		Help: "1 while the integration broker's polls succeed, 0 from the first failed poll until one succeeds again."})
	for _, c := range []prometheus.Collector{w.failures, w.up} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	w.up.Set(1)
	return w, nil
}

// HandleError implements wmsql.BackoffManager: the default's pause, and the watch's log and metrics.
func (w *brokerWatch) HandleError(logger watermill.LoggerAdapter, noMsg bool, err error) time.Duration {
	pause := w.next.HandleError(watermill.NopLogger{}, noMsg, err)
	switch {
	case err != nil && pause == 0:
		// A deadlock between two polling transactions: retried at once, the broker is there.
		logger.Debug("integration broker: deadlock while polling; trying again", nil)
	case err != nil:
		w.pollFailed(err)
	default:
		w.answered()
	}
	return pause
}

func (w *brokerWatch) pollFailed(err error) {
	if w.failures != nil {
		w.failures.Inc()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fails++
	if w.down {
		return
	}
	w.down, w.since, w.fails = true, time.Now(), 1
	if w.up != nil {
		w.up.Set(0)
	}
	// The error names the broker's address at most (lib/pq never quotes the password); never a message's data.
	w.logger.Warn("integration broker: polling fails; the consumers wait and poll again (failures counted in dossier_integration_broker_poll_failures_total until it answers)",
		"error", err.Error())
}

func (w *brokerWatch) answered() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.down {
		return
	}
	w.down = false
	if w.up != nil {
		w.up.Set(1)
	}
	w.logger.Info("integration broker: polling works again", "after", time.Since(w.since).Round(time.Millisecond).String(),
		"failed_polls", w.fails)
}

// isDown reports whether the last poll failed.
func (w *brokerWatch) isDown() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.down
}

// quietWhileDown is the subscriber's logger: while the watch has the broker down, the subscriber's own ERROR lines
// (a rollback that fails on the lost connection, ...) say nothing new and go at debug level.
type quietWhileDown struct {
	watermill.LoggerAdapter
	watch *brokerWatch
}

func (q quietWhileDown) Error(msg string, err error, fields watermill.LogFields) {
	if q.watch.isDown() {
		q.LoggerAdapter.Debug(msg, fields.Add(watermill.LogFields{"err": err}))
		return
	}
	q.LoggerAdapter.Error(msg, err, fields)
}

func (q quietWhileDown) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return quietWhileDown{LoggerAdapter: q.LoggerAdapter.With(fields), watch: q.watch}
}
