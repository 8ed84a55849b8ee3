package nodebench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
)

// Node is an embedded node started for a benchmark, with an official client connected to it.
type Node struct {
	Node   *kurrentnode.Node
	Client *esdb.Client
	// Dir is the node's data directory ("" in memory); StartNode created it and Close removes it.
	Dir string
}

// StartNode starts a node whose data lives in a new directory under parent (in memory when inMemory),
// and connects a client to it. The client has made its first call when StartNode returns, so the
// connection set-up is not part of any measurement.
func StartNode(ctx context.Context, parent string, inMemory bool, logger *slog.Logger) (*Node, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := kurrentnode.Options{InMemory: inMemory, Logger: logger.With("component", "kurrentnode")}
	var dir string
	if !inMemory {
		d, err := os.MkdirTemp(parent, "nodebench-")
		if err != nil {
			return nil, fmt.Errorf("nodebench: data dir: %w", err)
		}
		dir, opts.Dir = d, d
	}
	n, err := kurrentnode.Start(opts)
	if err != nil {
		removeDir(dir)
		return nil, fmt.Errorf("nodebench: start node: %w", err)
	}
	client, err := Connect(n.ConnectionString(), logger)
	if err != nil {
		n.Close()
		removeDir(dir)
		return nil, err
	}
	b := &Node{Node: n, Client: client, Dir: dir}
	// The client connects lazily; a read of a missing stream makes it connect now.
	rs, err := client.ReadStream(ctx, streamName("benchwarmup"), esdb.ReadStreamOptions{}, 1)
	if err == nil {
		_, err = rs.Recv()
		rs.Close()
	}
	var esErr *esdb.Error
	if err != nil && !(errors.As(err, &esErr) && esErr.Code() == esdb.ErrorCodeResourceNotFound) {
		b.Close()
		return nil, fmt.Errorf("nodebench: first call to the node: %w", err)
	}
	return b, nil
}

// Connect returns an official client for connString whose log lines go to logger at debug level (the
// client's default logger writes to stdout, which would spoil --json output).
func Connect(connString string, logger *slog.Logger) (*esdb.Client, error) {
	cfg, err := esdb.ParseConnectionString(connString)
	if err != nil {
		return nil, fmt.Errorf("nodebench: connection string: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = func(level esdb.LogLevel, format string, args ...any) {
		logger.Debug("esdb client", "level", string(level), "msg", fmt.Sprintf(format, args...))
	}
	client, err := esdb.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("nodebench: new client: %w", err)
	}
	return client, nil
}

// Close closes the client and the node and removes the data directory.
func (b *Node) Close() error {
	err := errors.Join(b.Client.Close(), b.Node.Close())
	removeDir(b.Dir)
	return err
}

func removeDir(dir string) {
	if dir != "" {
		os.RemoveAll(dir)
	}
}
