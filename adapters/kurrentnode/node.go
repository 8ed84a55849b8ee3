// Package kurrentnode is Dossier's embedded event store: a single-node server that speaks the part of
// KurrentDB's gRPC protocol used by the official Go client (EventStore-Client-Go v4), durable on local disk.
//
// Everything above it reaches it through the official client, so the same code runs against this node and
// against a KurrentDB cluster. Implemented: ServerFeatures, Gossip (one alive leader), Streams.Append, Read
// (streams and $all, both directions, catch-up subscriptions with filters and checkpoints), Delete (soft)
// and Tombstone, stream metadata ($maxCount, $maxAge, $tb, $$ metastreams). Not implemented: persistent
// subscriptions, BatchAppend, projections, authentication/TLS, clustering, scavenging.
//
// Storage is an append-only log of sealed segment files with CRC-protected records and framed group commits
// (see log.go, segments.go, recovery.go and store.go); the indexes live in pebble beside it (index.go),
// reflecting the log up to a checkpoint, and are caught up from the log at start.
package kurrentnode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// ServerVersion is the KurrentDB version the node announces. The client needs a numeric X.Y.Z and adapts
// its behaviour to it.
const ServerVersion = "24.10.0"

// Options configure a node.
type Options struct {
	Listen   string       // TCP address; "" means "127.0.0.1:0"
	Dir      string       // data directory (created if missing); required unless InMemory
	InMemory bool         // same code, storage kept in memory
	Logger   *slog.Logger // nil: discard
	// IndexCacheBytes is the block cache of the persisted index: with its memtables (2 × 16 MiB at most), what
	// bounds the node's memory whatever the number of events. 0: IndexCacheBytes (64 MiB).
	IndexCacheBytes int64
	// SegmentBytes is the size at which a log segment is sealed and the next one started (0: SegmentBytes,
	// 256 MiB). Start-up reads the segment being written whole, and only the seals of the others.
	SegmentBytes int64

	wrapLog func(logFile) logFile // tests: wraps the log file (fault injection, recording)
}

// Node is a running embedded event-store node.
type Node struct {
	store    *store
	grpc     *grpc.Server
	lis      net.Listener
	logger   *slog.Logger
	ctx      context.Context // cancelled at Close: ends open subscriptions
	cancel   context.CancelFunc
	served   chan struct{}
	closeErr error
	once     sync.Once
	id       uuid.UUID
	dir      string // "" in memory
}

// Start opens (and recovers) the storage, starts the gRPC server and returns once it is listening.
func Start(opts Options) (*Node, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.InMemory == (opts.Dir != "") {
		return nil, errors.New("kurrentnode: set exactly one of Dir and InMemory")
	}
	st, err := openStoreConfig(opts.Dir, logger, opts.wrapLog, storeConfig{cacheBytes: opts.IndexCacheBytes, segBytes: opts.SegmentBytes})
	if err != nil {
		return nil, err
	}
	addr := opts.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		st.close()
		return nil, fmt.Errorf("kurrentnode: listen on %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Node{store: st, lis: lis, logger: logger, ctx: ctx, cancel: cancel, served: make(chan struct{}), id: uuid.New()}
	n.grpc = grpc.NewServer(
		// The client pings every 10 s; grpc-go's default policy would answer too_many_pings and kill idle
		// subscriptions after ~30 s.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(MaxEventSize+1<<20),
		grpc.MaxSendMsgSize(MaxEventSize+1<<20),
	)
	streams.RegisterStreamsServer(n.grpc, &streamsService{node: n})
	serverfeatures.RegisterServerFeaturesServer(n.grpc, featuresService{})
	gossip.RegisterGossipServer(n.grpc, &gossipService{node: n})
	go func() {
		defer close(n.served)
		if err := n.grpc.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			logger.Error("gRPC server stopped", "err", err)
		}
	}()
	mode := "disk"
	if opts.InMemory {
		mode = "memory"
	} else if err := writeAddress(opts.Dir, lis.Addr().String()); err != nil {
		n.Close()
		return nil, err
	}
	n.dir = opts.Dir
	logger.Info("kurrentnode listening", "addr", lis.Addr().String(), "storage", mode)
	return n, nil
}

// Addr returns the address the node listens on.
func (n *Node) Addr() string { return n.lis.Addr().String() }

// ConnectionString returns a connection string for the official client.
func (n *Node) ConnectionString() string { return "esdb://" + n.Addr() + "?tls=false" }

// WritesRefused reports why the node refuses writes, or nil when it accepts them (for readiness checks). An
// error wrapping ErrWritesRefused lifts by itself once the log can be written again (a full disk that got space
// back); any other lasts until a restart (a failed fdatasync: what the disk holds is unknown).
func (n *Node) WritesRefused() error { return n.store.writesRefused() }

// Close ends open subscriptions, stops the gRPC server (waiting a few seconds for calls in flight) and
// closes the storage after the queued writes.
func (n *Node) Close() error {
	n.once.Do(func() {
		n.cancel()
		stopped := make(chan struct{})
		go func() { n.grpc.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			n.grpc.Stop()
		}
		<-n.served
		if n.dir != "" {
			os.Remove(filepath.Join(n.dir, addrFileName))
		}
		n.closeErr = n.store.close()
	})
	return n.closeErr
}

type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

func (featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	methods := []*serverfeatures.SupportedMethod{
		{ServiceName: "event_store.client.gossip.gossip", MethodName: "read"},
		{ServiceName: "event_store.client.server_features.serverfeatures", MethodName: "getsupportedmethods"},
	}
	for _, m := range []string{"read", "append", "delete", "tombstone"} {
		methods = append(methods, &serverfeatures.SupportedMethod{ServiceName: "event_store.client.streams.streams", MethodName: m})
	}
	return &serverfeatures.SupportedMethods{Methods: methods, EventStoreServerVersion: ServerVersion}, nil
}

type gossipService struct {
	gossip.UnimplementedGossipServer
	node *Node
}

// Read reports this node as the one alive leader, so esdb+discover:// connection strings work.
func (g *gossipService) Read(context.Context, *shared.Empty) (*gossip.ClusterInfo, error) {
	host, portText, _ := net.SplitHostPort(g.node.Addr())
	var port uint32
	fmt.Sscan(portText, &port)
	return &gossip.ClusterInfo{Members: []*gossip.MemberInfo{{
		InstanceId: protoUUID(g.node.id),
		TimeStamp:  time.Now().UnixNano() / 100,
		State:      gossip.MemberInfo_Leader,
		IsAlive:    true,
		HttpEndPoint: &gossip.EndPoint{
			Address: host,
			Port:    port,
		},
	}}}, nil
}

// writeAddress records where the node listens, in its data directory, so that an operator command started
// while the node runs (the directory is then locked) can reach it over gRPC instead.
func writeAddress(dir, addr string) error {
	tmp := filepath.Join(dir, addrFileName+".tmp")
	if err := os.WriteFile(tmp, []byte(addr+"\n"), 0o600); err != nil {
		return fmt.Errorf("kurrentnode: write address file: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, addrFileName)); err != nil {
		return fmt.Errorf("kurrentnode: write address file: %w", err)
	}
	return nil
}

// ReadAddress returns the address of the node running on dir, as it recorded it at start.
func ReadAddress(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, addrFileName))
	if err != nil {
		return "", fmt.Errorf("kurrentnode: no running node recorded in %s: %w", dir, err)
	}
	return strings.TrimSpace(string(b)), nil
}
