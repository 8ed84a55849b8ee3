package kurrentdb

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/domain/failure"
)

// appendMetrics count appends by stream category and outcome (never by stream: ids are not metric labels).
type appendMetrics struct {
	appends  *prometheus.CounterVec
	events   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// Instrument registers the store's append metrics on reg: dossier_eventstore_appends_total{category,result},
// dossier_eventstore_appended_events_total{category} and dossier_eventstore_append_duration_seconds{category}.
func (s *Store) Instrument(reg prometheus.Registerer) error {
	m := &appendMetrics{
		appends: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dossier_eventstore_appends_total",
			Help: "Appends to the event store, by stream category and result (ok, conflict, error)."}, []string{"category", "result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dossier_eventstore_appended_events_total",
			Help: "Events appended to the event store, by stream category."}, []string{"category"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dossier_eventstore_append_duration_seconds",
			Help:    "Latency of appends to the event store (durable: the store acknowledges after fsync).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}}, []string{"category"}),
	}
	for _, c := range []prometheus.Collector{m.appends, m.events, m.duration} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	s.metrics = m
	return nil
}

func (m *appendMetrics) observe(category string, n int, took time.Duration, err error) {
	if m == nil {
		return
	}
	result := "ok"
	switch {
	case err == nil:
		m.events.WithLabelValues(category).Add(float64(n))
	case failure.KindOf(err) == failure.Conflict:
		result = "conflict"
	default:
		result = "error"
	}
	m.appends.WithLabelValues(category, result).Inc()
	m.duration.WithLabelValues(category).Observe(took.Seconds())
}

// Instrument registers the source's subscription metrics on reg, read from Stats at each scrape:
// dossier_eventstore_subscriptions (subscriptions to $all open, the shared tail's included),
// dossier_eventstore_tail_followers (Runs following the shared tail), dossier_eventstore_tail_running (1 while the
// tail runs) and dossier_eventstore_tail_fell_behind_total (Runs that fell behind the tail's ring and went back to a
// subscription of their own: a steady rise means handlers too slow for the ring).
func (s *Source) Instrument(reg prometheus.Registerer) error {
	gauge := func(name, help string, f func(SourceStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(s.Stats()) })
	}
	for _, c := range []prometheus.Collector{
		gauge("dossier_eventstore_subscriptions", "Subscriptions to $all open (one per feed not following the shared tail, plus the tail's own).",
			func(st SourceStats) float64 { return float64(st.Subscriptions) }),
		gauge("dossier_eventstore_tail_followers", "Feeds (projections, reactions) following the shared live tail of $all.",
			func(st SourceStats) float64 { return float64(st.Followers) }),
		gauge("dossier_eventstore_tail_running", "1 while the shared live tail of $all runs.",
			func(st SourceStats) float64 { return map[bool]float64{true: 1}[st.Tail] }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "dossier_eventstore_tail_fell_behind_total",
			Help: "Feeds that fell behind the shared tail's ring and went back to a subscription of their own."},
			func() float64 { return float64(s.Stats().FellBehind) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
