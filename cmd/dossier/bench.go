package main

import (
	"context"
	"errors"
	"log/slog"
)

// BenchCmd measures the event store (placeholder until the benchmark harness lands).
type BenchCmd struct{}

// Run prints the benchmark table.
func (c *BenchCmd) Run(ctx context.Context, logger *slog.Logger) error {
	return errors.New("bench: not yet implemented")
}
