// Package riverbench measures River beside the outbox. Only its benchmark
// files import River, so the repository stays one module while the shequ
// binary does not link River, which stays out (docs/benchmarks.md, "Jobs:
// outbox or River").
package riverbench
