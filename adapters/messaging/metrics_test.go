package messaging_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// gathered is one scrape of a registry: value by "name{label=value,...}".
type gathered map[string]float64

func gather(t *testing.T, reg *prometheus.Registry) gathered {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := gathered{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			out[f.GetName()+"{"+metricLabels(m)+"}"] = metricValue(m)
		}
	}
	return out
}

func metricLabels(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	return strings.Join(parts, ",")
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	}
	return m.GetUntyped().GetValue()
}

func TestMetricsFollowTheHandlers(t *testing.T) {
	sqldbtest.Each(t, func(t *testing.T, db *sqldb.DB) {
		l := startLog(t)
		migrate(t, db)
		stream := newStream()
		l.appendOne(t, stream, caseOpened{Queue: "general"})
		l.appendOne(t, stream, caseNoted{Text: noteFlaky}) // two failed calls, then handled
		l.appendOne(t, stream, caseNoted{Text: noteRule})  // poison at once
		last := l.appendOne(t, stream, caseNoted{Text: noteOK})

		reg := prometheus.NewRegistry()
		cfg := fastConfig(l, db)
		cfg.Registry = reg
		router, err := messaging.NewRouter(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder("test.metrics", db)
		if err := router.AddHandler(rec.name, messaging.Handle(rec.handle)); err != nil {
			t.Fatal(err)
		}
		// Before the router runs, every series is there at zero.
		before := gather(t, reg)
		for _, name := range []string{
			`dossier_reaction_position{handler=test.metrics}`,
			`dossier_reaction_lag_seconds{handler=test.metrics}`,
			`dossier_reaction_active{handler=test.metrics}`,
			`dossier_reaction_caught_up{handler=test.metrics}`,
			`dossier_reaction_poison_events{handler=test.metrics}`,
			`dossier_reaction_handled_total{handler=test.metrics,outcome=ok}`,
			`dossier_reaction_handled_total{handler=test.metrics,outcome=retried}`,
			`dossier_reaction_handled_total{handler=test.metrics,outcome=poisoned}`,
			`dossier_reaction_replays_total{handler=test.metrics,outcome=ok}`,
			`dossier_reaction_replays_total{handler=test.metrics,outcome=failed}`,
			`dossier_reaction_processed_pruned_total{handler=test.metrics}`,
		} {
			v, ok := before[name]
			if !ok {
				t.Errorf("metric %s missing before the start", name)
			} else if v != 0 {
				t.Errorf("%s = %v before the start, want 0", name, v)
			}
		}

		running(t, router)
		waitCheckpoint(t, db, rec.name, last.commit.Position)
		waitFor(t, "the handler to be caught up", func() bool {
			return gather(t, reg)[`dossier_reaction_caught_up{handler=test.metrics}`] == 1
		})
		got := gather(t, reg)
		want := gathered{
			`dossier_reaction_position{handler=test.metrics}`:                       float64(last.commit.Position),
			`dossier_reaction_lag_seconds{handler=test.metrics}`:                    0,
			`dossier_reaction_active{handler=test.metrics}`:                         1,
			`dossier_reaction_caught_up{handler=test.metrics}`:                      1,
			`dossier_reaction_poison_events{handler=test.metrics}`:                  1,
			`dossier_reaction_handled_total{handler=test.metrics,outcome=ok}`:       3,
			`dossier_reaction_handled_total{handler=test.metrics,outcome=retried}`:  2,
			`dossier_reaction_handled_total{handler=test.metrics,outcome=poisoned}`: 1,
		}
		for name, w := range want {
			if got[name] != w {
				t.Errorf("%s = %v, want %v", name, got[name], w)
			}
		}
		// Labels are handler names and outcomes, nothing else.
		for name := range got {
			if !strings.HasPrefix(name, "dossier_reaction_") {
				continue
			}
			labels := name[strings.Index(name, "{")+1 : len(name)-1]
			for _, l := range strings.Split(labels, ",") {
				if !strings.HasPrefix(l, "handler=") && !strings.HasPrefix(l, "outcome=") {
					t.Errorf("%s: unexpected label %s", name, l)
				}
			}
		}

		// A dependency goes down: the handler is blocked on the event, its lag grows and its retries count.
		down := l.appendOne(t, stream, caseNoted{Text: noteDown})
		waitFor(t, "the lag to show", func() bool {
			return gather(t, reg)[`dossier_reaction_lag_seconds{handler=test.metrics}`] > 0.05
		})
		waitFor(t, "the retries to count", func() bool {
			return gather(t, reg)[`dossier_reaction_handled_total{handler=test.metrics,outcome=retried}`] >= 2+float64(cfg.Retry.MaxRetries+1)
		})
		if p := gather(t, reg)[`dossier_reaction_position{handler=test.metrics}`]; p != float64(last.commit.Position) {
			t.Errorf("position moved to %v while blocked, want %d", p, last.commit.Position)
		}
		rec.heal()
		waitCheckpoint(t, db, rec.name, down.commit.Position)
		waitFor(t, "the lag to fall back to 0", func() bool {
			return gather(t, reg)[`dossier_reaction_lag_seconds{handler=test.metrics}`] == 0
		})
		got = gather(t, reg)
		if got[`dossier_reaction_position{handler=test.metrics}`] != float64(down.commit.Position) ||
			got[`dossier_reaction_handled_total{handler=test.metrics,outcome=ok}`] != 4 {
			t.Errorf("after healing: position %v ok %v, want %d and 4", got[`dossier_reaction_position{handler=test.metrics}`],
				got[`dossier_reaction_handled_total{handler=test.metrics,outcome=ok}`], down.commit.Position)
		}

		// A second router on the same registry would export the same series twice.
		cfg2 := fastConfig(l, db)
		cfg2.Registry = reg
		if _, err := messaging.NewRouter(cfg2); err == nil {
			t.Error("a second router registered the same metrics without error")
		}
	})
}
