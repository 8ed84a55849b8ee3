package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/msa-dossier/dossier/adapters/keystore"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/kurrentnode"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/domain/event"
)

// stores are the two stores every command that touches data opens: the event store (the embedded node,
// started in this process, or a KurrentDB cluster) and the read-model database, with the key store of the
// personal-data keys on it.
type stores struct {
	Node   *kurrentnode.Node // nil when a KurrentDB URL is configured
	Events *kurrentdb.Client
	DB     *sqldb.DB
	// Keys is the key store on DB, one per process: every event registry of the process seals and opens through it
	// (see eventRegistry), and erasing through it clears its cache at once.
	Keys *keystore.Store
	// EventStoreName says what the events are stored on, for the start-up line (no secrets).
	EventStoreName string
}

// openStores opens both stores from the configuration. The embedded node is started before the first client
// call: the official client closes itself for good if its first discovery fails. When the embedded data
// directory is held by a running server and this is not the server itself (serving false: an operator command),
// it connects to that server's node.
func openStores(ctx context.Context, cfg *Config, logger *slog.Logger) (*stores, error) {
	return openStoresFor(ctx, cfg, logger, false)
}

// openStoresFor is openStores for the server itself (serving true: the data directory must be its own).
func openStoresFor(ctx context.Context, cfg *Config, logger *slog.Logger, serving bool) (*stores, error) {
	s, err := openEventStore(ctx, cfg, logger, serving)
	if err != nil {
		return nil, err
	}
	db, err := cfg.open(ctx, logger)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.DB = db
	if s.Keys, err = openKeyStore(ctx, db, cfg.DataKeyConfig); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// openEventStore opens the event store alone (Node and Events; no database, no key store): for a command that
// only reads the log and must write nothing anywhere (audit what-if).
func openEventStore(ctx context.Context, cfg *Config, logger *slog.Logger, serving bool) (*stores, error) {
	s := &stores{}
	conn := cfg.KurrentDBURL
	if cfg.Embedded() {
		n, err := kurrentnode.Start(kurrentnode.Options{Listen: cfg.NodeListen, Dir: cfg.EventsDir, Logger: logger.With("component", "kurrentnode")})
		switch {
		case errors.Is(err, kurrentnode.ErrDirInUse) && !serving:
			// A server runs on this directory: an operator command talks to its node instead.
			addr, aerr := kurrentnode.ReadAddress(cfg.EventsDir)
			if aerr != nil {
				return nil, fmt.Errorf("start embedded event store: %w (and %v)", err, aerr)
			}
			conn = "esdb://" + addr + "?tls=false"
			s.EventStoreName = fmt.Sprintf("the running embedded node on %s (data %s)", addr, cfg.EventsDir)
		case err != nil:
			return nil, fmt.Errorf("start embedded event store: %w", err)
		default:
			s.Node, conn = n, n.ConnectionString()
			s.EventStoreName = fmt.Sprintf("embedded node on %s (data %s)", n.Addr(), cfg.EventsDir)
		}
	} else {
		s.EventStoreName = "KurrentDB " + redactURL(cfg.KurrentDBURL)
	}
	client, err := kurrentdb.Connect(ctx, conn, kurrentdb.WithLogger(logger.With("component", "kurrentdb")))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to the event store: %w", err)
	}
	s.Events = client
	return s, nil
}

// openKeyStore creates or upgrades the key store's table on db (it is not a projection: never dropped nor rebuilt)
// and opens the key store under the configured KEK.
func openKeyStore(ctx context.Context, db *sqldb.DB, cfg DataKeyConfig) (*keystore.Store, error) {
	kc, err := cfg.keystoreConfig()
	if err != nil {
		return nil, err
	}
	if err := keystore.Migrate(ctx, db); err != nil {
		return nil, fmt.Errorf("key store migrations: %w", err)
	}
	return keystore.New(db, kc)
}

// eventRegistry is the one place the binary builds the event registry it reads and writes events through (serve,
// the admin commands, projections rebuild): the definitions of defs (every aggregate's when none), sealed by keys, so
// that personal data is sealed on append and opened on read everywhere alike.
func eventRegistry(keys *keystore.Store, defs ...[]event.Definition) (*event.Registry, error) {
	if len(defs) == 0 {
		defs = eventDefinitions()
	}
	r, err := event.NewRegistry(defs...)
	if err != nil {
		return nil, fmt.Errorf("event definitions: %w", err)
	}
	if keys == nil {
		return nil, errors.New("event registry: no key store")
	}
	return r.WithSealer(keys), nil
}

// eventStore returns a store over client whose codec is eventRegistry(keys, defs...).
func eventStore(client *kurrentdb.Client, keys *keystore.Store, defs ...[]event.Definition) (*kurrentdb.Store, error) {
	r, err := eventRegistry(keys, defs...)
	if err != nil {
		return nil, err
	}
	return kurrentdb.NewStore(client, kurrentdb.NewCodec(r)), nil
}

// Close closes what was opened, the client before the node it talks to.
func (s *stores) Close() error {
	var errs []error
	if s.DB != nil {
		errs = append(errs, s.DB.Close())
	}
	if s.Events != nil {
		errs = append(errs, s.Events.Close())
	}
	if s.Node != nil {
		errs = append(errs, s.Node.Close())
	}
	return errors.Join(errs...)
}
