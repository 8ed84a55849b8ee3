package messaging

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of dossier_reaction_handled_total and dossier_reaction_replays_total.
const (
	outcomeOK       = "ok"
	outcomeRetried  = "retried"
	outcomePoisoned = "poisoned"
	outcomeFailed   = "failed"
)

// statsTimeout bounds the queries a scrape makes (checkpoints and poison counts).
const statsTimeout = 2 * time.Second

// metrics are the router's Prometheus collectors. Checkpoints and poison counts are read from the database at
// scrape time, so every replica reports the durable truth whichever replica runs the handler; lag, active and
// caught-up are this replica's own view; the counters count what this replica did.
type metrics struct {
	r *Router

	handledTotal *prometheus.CounterVec
	replays      *prometheus.CounterVec
	pruned       *prometheus.CounterVec
	delay        *prometheus.HistogramVec

	position, lag, active, caughtUp, poison *prometheus.Desc

	mu    sync.Mutex // one scrape's queries at a time; guards the last values read
	stats dbStats
}

// dbStats are the values read from the database at the last scrape that could read them.
type dbStats struct {
	positions map[string]uint64
	poison    map[string]int
}

func newMetrics(r *Router) *metrics {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"handler"}, nil)
	}
	return &metrics{
		r: r,
		handledTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dossier_reaction_handled_total",
			Help: "Reaction handler calls by outcome: ok (the event was handled), retried (the call failed and the event " +
				"is tried again), poisoned (the handler gave up on the event: see dossier reactions poison).",
		}, []string{"handler", "outcome"}),
		replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dossier_reaction_replays_total",
			Help: "Poison events replayed by this replica at an operator's request, by outcome: ok (removed from the " +
				"poison list), failed (kept with its new error).",
		}, []string{"handler", "outcome"}),
		delay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "dossier_reaction_delay_seconds",
			Help: "How long after the store recorded an event this replica's handler acknowledged it (for a mail " +
				"handler: the mail lag, from the event to the mail accepted by the relay).",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"handler"}),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dossier_reaction_processed_pruned_total",
			Help: "Processed-event keys this replica pruned (behind the handler's checkpoint and past the retention).",
		}, []string{"handler"}),
		position: desc("dossier_reaction_position",
			"Checkpoint of the reaction handler: global log commit position of the last event it acknowledged."),
		lag: desc("dossier_reaction_lag_seconds",
			"How far behind the head of the log the handler is: age (recorded time) of the oldest event delivered to it "+
				"and not yet acknowledged; 0 when it has handled all it received or does not run here."),
		active: desc("dossier_reaction_active",
			"1 while this replica holds the handler's lease and follows the log."),
		caughtUp: desc("dossier_reaction_caught_up",
			"1 once the active handler has reached the head of the log."),
		poison: desc("dossier_reaction_poison_events",
			"Events the handler gave up on (rows of reaction_poison), replay requested or not."),
		stats: dbStats{positions: map[string]uint64{}, poison: map[string]int{}},
	}
}

func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m, m.handledTotal, m.replays, m.pruned, m.delay} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("messaging: register metrics: %w", err)
		}
	}
	return nil
}

// add makes a new handler's series appear at zero, so that rates and alerts work from its first scrape.
func (m *metrics) add(handler string) {
	for _, o := range []string{outcomeOK, outcomeRetried, outcomePoisoned} {
		m.handledTotal.WithLabelValues(handler, o)
	}
	for _, o := range []string{outcomeOK, outcomeFailed} {
		m.replays.WithLabelValues(handler, o)
	}
	m.pruned.WithLabelValues(handler)
}

// handled counts one delivery's calls: retried failed calls that were (or will be) tried again, and the verdict
// ("" when the event comes again: no verdict yet).
func (m *metrics) handled(handler string, retried int, verdict string) {
	if retried > 0 {
		m.handledTotal.WithLabelValues(handler, outcomeRetried).Add(float64(retried))
	}
	if verdict != "" {
		m.handledTotal.WithLabelValues(handler, verdict).Inc()
	}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.position, m.lag, m.active, m.caughtUp, m.poison} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A database that cannot be read leaves the last values read (and a
// warning in the log) rather than failing the whole scrape.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	handlers := m.r.handlerList()
	if len(handlers) == 0 {
		return
	}
	stats := m.read()
	now := m.r.cfg.Now()
	for _, h := range handlers {
		st := h.sub.status()
		lag := 0.0
		if st.active && !st.pendingSince.IsZero() {
			lag = max(0, now.Sub(st.pendingSince).Seconds())
		}
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, h.name)
		}
		gauge(m.position, float64(stats.positions[h.name]))
		gauge(m.lag, lag)
		gauge(m.active, boolGauge(st.active))
		gauge(m.caughtUp, boolGauge(st.active && st.caughtUp))
		gauge(m.poison, float64(stats.poison[h.name]))
	}
}

// read returns the checkpoints and poison counts, read now if the database answers, else as last read.
func (m *metrics) read() dbStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	positions, perr := m.readPositions(ctx)
	poison, cerr := m.readPoison(ctx)
	if err := errors.Join(perr, cerr); err != nil {
		m.r.logger.Warn("reactions: metrics could not read the reactions' tables; reporting the last values read", "error", err)
	}
	if perr == nil {
		m.stats.positions = positions
	}
	if cerr == nil {
		m.stats.poison = poison
	}
	return m.stats
}

func (m *metrics) readPositions(ctx context.Context) (map[string]uint64, error) {
	cps, err := Checkpoints(ctx, m.r.cfg.DB)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(cps))
	for _, c := range cps {
		out[c.Handler] = c.Position
	}
	return out, nil
}

func (m *metrics) readPoison(ctx context.Context) (map[string]int, error) {
	counts, err := PoisonCounts(ctx, m.r.cfg.DB)
	if err != nil {
		return nil, err
	}
	return counts, nil
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
