package sia

import "github.com/prometheus/client_golang/prometheus"

// The receiver's metrics are read from its counters when scraped, so that
// a frame costs the same atomic adds with or without Prometheus.
var (
	descFrames = prometheus.NewDesc("shequ_sia_frames_total",
		"SIA DC-09 frames read, corrupt ones included.", nil, nil)
	descAnswers = prometheus.NewDesc("shequ_sia_answers_total",
		"SIA DC-09 answers sent, by type (ACK counts *ACK too).", []string{"type"}, nil)
	descUnanswered = prometheus.NewDesc("shequ_sia_frames_unanswered_total",
		"SIA DC-09 frames left without an answer: corrupt, or not stored (handler error).", []string{"reason"}, nil)
	descConnections = prometheus.NewDesc("shequ_sia_connections_total",
		"SIA DC-09 TCP connections accepted.", nil, nil)
	descOpen = prometheus.NewDesc("shequ_sia_connections_open",
		"SIA DC-09 TCP connections open now.", nil, nil)
	descRefused = prometheus.NewDesc("shequ_sia_connections_refused_total",
		"SIA DC-09 TCP connections closed as soon as accepted: max_conns (all addresses) or max_conns_per_addr (one address).", []string{"reason"}, nil)
	descClosed = prometheus.NewDesc("shequ_sia_connections_timed_out_total",
		"SIA DC-09 TCP connections closed by the receiver: idle (no frame within the idle timeout) or frame (a frame begun and not finished within the frame timeout).", []string{"reason"}, nil)
	descUDPInFlight = prometheus.NewDesc("shequ_sia_udp_frames_in_flight",
		"SIA DC-09 UDP frames being processed now.", nil, nil)
	descLogSuppressed = prometheus.NewDesc("shequ_sia_log_lines_suppressed_total",
		"SIA DC-09 warnings not written because their source exceeded its lines per interval.", nil, nil)
)

// Describe implements prometheus.Collector.
func (r *Receiver) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFrames, descAnswers, descUnanswered, descConnections, descOpen,
		descRefused, descClosed, descUDPInFlight, descLogSuppressed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: register the receiver with a
// registry to serve its counters on /metrics.
func (r *Receiver) Collect(ch chan<- prometheus.Metric) {
	s := r.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter(descFrames, s.Frames)
	counter(descAnswers, s.ACK, "ACK")
	counter(descAnswers, s.NAK, "NAK")
	counter(descAnswers, s.DUH, "DUH")
	counter(descUnanswered, s.Corrupt, "corrupt")
	counter(descUnanswered, s.HandleErrors, "handler_error")
	counter(descConnections, s.Connections)
	gauge(descOpen, len(r.slots))
	counter(descRefused, s.Refused, "max_conns")
	counter(descRefused, s.RefusedPerAddr, "max_conns_per_addr")
	counter(descClosed, s.IdleClosed, "idle")
	counter(descClosed, s.FrameTimeouts, "frame")
	gauge(descUDPInFlight, len(r.udpSlots))
	counter(descLogSuppressed, s.LogSuppressed)
}
