package integration

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestBrokerWatchLogsTheOutageOnce: while the broker is away every poll fails (every 100 ms here); the subscriber's
// log gets one warning when polling starts failing and one line when it works again, not an ERROR per poll; the
// failures are counted and dossier_integration_broker_up says 0 meanwhile. The pauses stay watermill-sql's.
func TestBrokerWatchLogsTheOutageOnce(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg := prometheus.NewRegistry()
	w, err := newBrokerWatch(100*time.Millisecond, 100*time.Millisecond, logger, reg)
	if err != nil {
		t.Fatal(err)
	}
	wl := quietWhileDown{LoggerAdapter: watermill.NewSlogLogger(logger), watch: w}
	lost := errors.New("could not begin tx for querying: dial tcp 127.0.0.1:5432: connect: connection refused")
	if d := w.HandleError(wl, true, nil); d != 100*time.Millisecond {
		t.Errorf("an empty poll waits %s, want the poll interval", d)
	}
	for range 50 {
		if d := w.HandleError(wl, false, lost); d != 100*time.Millisecond {
			t.Fatalf("a failed poll waits %s, want the retry interval", d)
		}
		wl.Error("could not rollback tx for querying message", lost, nil) // the subscriber's own line, meanwhile
	}
	if got := value(w.up); got != 0 {
		t.Errorf("broker_up = %v while polls fail", got)
	}
	if d := w.HandleError(wl, false, errors.New("pq: could not serialize access due to concurrent update")); d != 0 {
		t.Errorf("a deadlock waits %s, want 0", d)
	}
	w.HandleError(wl, true, nil)
	w.HandleError(wl, false, nil)
	if got := value(w.failures); got != 50 {
		t.Errorf("poll failures counted %v, want 50", got)
	}
	if got := value(w.up); got != 1 {
		t.Errorf("broker_up = %v once a poll succeeded", got)
	}
	logs := out.String()
	if n := strings.Count(logs, "\n"); n != 2 {
		t.Errorf("%d log lines over the outage, want 2 (gone, back):\n%s", n, logs)
	}
	if !strings.Contains(logs, "level=WARN msg=\"integration broker: polling fails") || !strings.Contains(logs, "failed_polls=50") {
		t.Errorf("the outage's two lines are not as expected:\n%s", logs)
	}
	// After recovery the subscriber's errors are logged again.
	wl.Error("could not commit tx for querying message", lost, nil)
	if !strings.Contains(out.String(), "level=ERROR") {
		t.Errorf("an error after recovery is not logged at ERROR:\n%s", out.String())
	}
}

// value reads a counter's or a gauge's value.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}
