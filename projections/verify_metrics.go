package projections

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// verifyCollector exports the last verification of each projection (projection_verifications, written by Verify)
// at scrape time, so every replica reports what the last `dossier projections verify` found.
type verifyCollector struct {
	db                           *sqldb.DB
	at, clean, rows, differences *prometheus.Desc
}

func newVerifyCollector(db *sqldb.DB) *verifyCollector {
	labels := []string{"projection", "version"}
	return &verifyCollector{
		db: db,
		at: prometheus.NewDesc("dossier_projection_verified_timestamp_seconds",
			"When the projection's live rows were last verified against a rebuild from the log (dossier projections verify).", labels, nil),
		clean: prometheus.NewDesc("dossier_projection_verified_clean",
			"1 when the last verification found the live rows equal to the rebuild, 0 when it found differences.", labels, nil),
		rows: prometheus.NewDesc("dossier_projection_verified_rows",
			"Live rows compared by the last verification.", labels, nil),
		differences: prometheus.NewDesc("dossier_projection_verified_differences",
			"Rows missing, extra or changed found by the last verification.", labels, nil),
	}
}

func (c *verifyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.at
	ch <- c.clean
	ch <- c.rows
	ch <- c.differences
}

func (c *verifyCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	vs, err := ReadVerifications(ctx, c.db.Reader())
	if err != nil {
		return // not migrated yet, or the database is out of reach: /readyz says so, the metrics stay quiet
	}
	for _, v := range vs {
		lv := []string{v.Name, versionLabel(v.Version)}
		ch <- prometheus.MustNewConstMetric(c.at, prometheus.GaugeValue, float64(v.VerifiedAt.UnixNano())/1e9, lv...)
		ch <- prometheus.MustNewConstMetric(c.clean, prometheus.GaugeValue, float64(v.Clean), lv...)
		ch <- prometheus.MustNewConstMetric(c.rows, prometheus.GaugeValue, float64(v.Rows), lv...)
		ch <- prometheus.MustNewConstMetric(c.differences, prometheus.GaugeValue, float64(v.Differences), lv...)
	}
}
