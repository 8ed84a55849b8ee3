package projections

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the runner's Prometheus collectors. The gauges are read at scrape time from the runner's state, so
// they are never stale.
type metrics struct {
	batchSeconds *prometheus.HistogramVec
}

func (r *Runner) register(reg prometheus.Registerer) error {
	m := &metrics{
		batchSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dossier_projection_batch_seconds",
			Help:    "Time to apply and commit one batch of events (rows and checkpoint in one transaction).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"projection", "version"}),
	}
	cs := []prometheus.Collector{m.batchSeconds, newVerifyCollector(r.db)}
	for _, w := range r.workers {
		labels := prometheus.Labels{"projection": w.name, "version": versionLabel(w.version)}
		gauge := func(name, help string, f func(now time.Time) float64) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels},
				func() float64 {
					r.mu.Lock()
					defer r.mu.Unlock()
					return f(time.Now())
				})
		}
		counter := func(name, help string, f func() int64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels},
				func() float64 {
					r.mu.Lock()
					defer r.mu.Unlock()
					return float64(f())
				})
		}
		cs = append(cs,
			gauge("dossier_projection_position",
				"Checkpoint (global log commit position) of the projection version.",
				func(time.Time) float64 { return float64(w.position) }),
			gauge("dossier_projection_live_position",
				"Checkpoint of the projection's live version, the one readers see and read-your-writes waits on.",
				func(time.Time) float64 { return float64(w.livePosition) }),
			gauge("dossier_projection_lag_seconds",
				"How far behind the log the projection is, in seconds of recorded time (0 when it has applied all it received).",
				func(now time.Time) float64 { return w.lagLocked(now).Seconds() }),
			gauge("dossier_projection_active",
				"1 while this replica holds the projection's lease and applies events.",
				func(time.Time) float64 { return boolGauge(w.role == RoleActive) }),
			gauge("dossier_projection_caught_up",
				"1 once the active projection has reached the head of the log.",
				func(time.Time) float64 { return boolGauge(w.role == RoleActive && w.caughtUp) }),
			gauge("dossier_projection_stopped",
				"1 when the projection stopped on an error (an event it cannot decode or apply).",
				func(time.Time) float64 { return boolGauge(w.err != nil) }),
			counter("dossier_projection_events_applied_total", "Events applied by this replica.",
				func() int64 { return w.applied }),
			counter("dossier_projection_transactions_total",
				"Write transactions this replica committed for the projection (a batch that writes no row commits none).",
				func() int64 { return w.transactions }),
		)
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("projections: register metrics: %w", err)
		}
	}
	r.metrics = m
	return nil
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (m *metrics) observeBatch(w *worker, _ int, d time.Duration) {
	if m == nil {
		return
	}
	m.batchSeconds.WithLabelValues(w.name, versionLabel(w.version)).Observe(d.Seconds())
}
