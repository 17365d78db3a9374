package backup

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// History reads the record of backup runs: the latest ones, newest
// first, and the last that succeeded.
type History interface {
	BackupRuns(ctx context.Context, n int) ([]Record, *Record, error)
}

// Collector exposes the last backup on /metrics, read from the record at
// each scrape so every node of a deployment says the same.
type Collector struct {
	History History
}

var (
	descLastRun     = prometheus.NewDesc("shequ_backup_last_run_timestamp_seconds", "When the latest backup began (Unix time).", nil, nil)
	descLastOK      = prometheus.NewDesc("shequ_backup_last_run_ok", "1 when the latest backup succeeded, 0 when it failed or is running.", nil, nil)
	descLastSuccess = prometheus.NewDesc("shequ_backup_last_success_timestamp_seconds", "When the latest successful backup began (Unix time); alert when it is too old.", nil, nil)
	descLastBytes   = prometheus.NewDesc("shequ_backup_last_success_bytes", "Size of the latest successful backup.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descLastRun
	ch <- descLastOK
	ch <- descLastSuccess
	ch <- descLastBytes
}

// Collect implements prometheus.Collector.
func (c Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	runs, ok, err := c.History.BackupRuns(ctx, 1)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descLastRun, err)
		return
	}
	if len(runs) > 0 {
		ch <- prometheus.MustNewConstMetric(descLastRun, prometheus.GaugeValue, float64(runs[0].StartedAt.Unix()))
		v := 0.0
		if runs[0].OK {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descLastOK, prometheus.GaugeValue, v)
	}
	if ok != nil {
		ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, float64(ok.StartedAt.Unix()))
		ch <- prometheus.MustNewConstMetric(descLastBytes, prometheus.GaugeValue, float64(ok.Bytes))
	}
}
