// Package riverbench measures River beside the outbox; it is a module of
// its own so that River is not a dependency of shequ while it stays out.
package riverbench
