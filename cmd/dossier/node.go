package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/msa-dossier/dossier/adapters/kurrentnode"
)

// NodeCmd groups the embedded node's commands: running it (the default, so `dossier node --listen … --data …`
// runs it) and the operator commands on a stopped node's data directory.
type NodeCmd struct {
	Serve  NodeServeCmd  `cmd:"" name:"run" default:"withargs" help:"Run the embedded node alone, so any KurrentDB client or tool can use it (the default)."`
	Check  NodeCheckCmd  `cmd:"" help:"Verify a stopped node's event log (every group frame and record checksum) and print a summary."`
	Repair NodeRepairCmd `cmd:"" help:"Cut a stopped node's damaged event log back to its last valid group, after copying the file aside."`
}

// NodeServeCmd runs the embedded node alone, so any KurrentDB client or tool can use it.
type NodeServeCmd struct {
	Listen   string `default:"127.0.0.1:2113" env:"DOSSIER_NODE_LISTEN" help:"TCP address to listen on."`
	Data     string `default:"./var/events" env:"DOSSIER_NODE_DATA" help:"Data directory of the event log."`
	InMemory bool   `env:"DOSSIER_NODE_IN_MEMORY" help:"Keep events in memory only (tests)."`
	// The index's block cache: with its memtables, what bounds the node's memory whatever the number of events.
	IndexCacheMiB int64 `name:"index-cache-mib" default:"64" env:"DOSSIER_NODE_INDEX_CACHE_MIB" help:"Block cache of the event index, in MiB."`
}

// Run starts the node and serves until the process is interrupted.
func (c *NodeServeCmd) Run(ctx context.Context, logger *slog.Logger) error {
	opts := kurrentnode.Options{Listen: c.Listen, Logger: logger, IndexCacheBytes: c.IndexCacheMiB << 20}
	if c.InMemory {
		opts.InMemory = true
	} else {
		opts.Dir = c.Data
	}
	n, err := kurrentnode.Start(opts)
	if err != nil {
		return err
	}
	fmt.Printf("kurrentnode listening on %s\n", n.Addr())
	<-ctx.Done()
	logger.Info("shutting down")
	return errors.Join(n.Close())
}

// nodeAcceptsWrites is the "event_store_writes" check of /readyz when serve runs the embedded node: it fails while
// the node refuses writes (a full disk: until a probe write goes through again; a failed fdatasync: until a
// restart). The cause (file names, errno) stays in the node's log. With an external KurrentDB it always passes
// (that node's own health says so).
func (a *app) nodeAcceptsWrites(context.Context) error {
	if a.stores.Node == nil {
		return nil
	}
	switch err := a.stores.Node.WritesRefused(); {
	case err == nil:
		return nil
	case errors.Is(err, kurrentnode.ErrWritesRefused):
		return errors.New("the event store refuses writes (disk full?); it accepts them again once it can write")
	default:
		return errors.New("the event store refuses writes until the node restarts (see its log)")
	}
}
