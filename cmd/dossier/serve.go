package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/msa-dossier/dossier/adapters/appointmentmail"
	"github.com/msa-dossier/dossier/adapters/asof"
	"github.com/msa-dossier/dossier/adapters/audithistory"
	"github.com/msa-dossier/dossier/adapters/auditlog"
	"github.com/msa-dossier/dossier/adapters/blobstore"
	"github.com/msa-dossier/dossier/adapters/casework"
	"github.com/msa-dossier/dossier/adapters/conversationmail"
	"github.com/msa-dossier/dossier/adapters/credentials"
	"github.com/msa-dossier/dossier/adapters/documentmail"
	"github.com/msa-dossier/dossier/adapters/httpapi"
	"github.com/msa-dossier/dossier/adapters/inboxmail"
	"github.com/msa-dossier/dossier/adapters/integration"
	"github.com/msa-dossier/dossier/adapters/keyedhash"
	"github.com/msa-dossier/dossier/adapters/kurrentdb"
	"github.com/msa-dossier/dossier/adapters/mail"
	"github.com/msa-dossier/dossier/adapters/membermail"
	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/adapters/privacy"
	"github.com/msa-dossier/dossier/adapters/sessions"
	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/domain/consultation"
	"github.com/msa-dossier/dossier/domain/conversation"
	"github.com/msa-dossier/dossier/domain/document"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/inbox"
	"github.com/msa-dossier/dossier/domain/insured"
	"github.com/msa-dossier/dossier/domain/member"
	"github.com/msa-dossier/dossier/domain/registration"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/domain/simulation"
	"github.com/msa-dossier/dossier/domain/staff"
	"github.com/msa-dossier/dossier/projections"
	"github.com/msa-dossier/dossier/projections/documentsubmissions"
	"github.com/msa-dossier/dossier/projections/memberdirectory"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

// ServeCmd runs Dossier: HTTP API, projections, reactions, and the embedded event-store node unless a
// KurrentDB URL is configured.
type ServeCmd struct {
	Config `embed:""`
}

// eventDefinitions is the union of every aggregate's event definitions: the codec knows these types.
func eventDefinitions() [][]event.Definition {
	return [][]event.Definition{insured.Definitions(), registration.Definitions(), member.Definitions(), staff.Definitions(),
		servicerequest.Definitions(), consultation.Definitions(), simulation.Definitions(),
		appointment.Definitions(), document.Definitions(), inbox.Definitions(), conversation.Definitions(),
		auditlog.Definitions()}
}

// readModels lists every projection `serve`, `migrate` and `projections` run (readmodels.New, the one list). The
// member directory indexes NIRs under a keyed hash, so it needs the server key.
func readModels(keys *keyedhash.Hasher) []projections.Projection {
	return readmodels.Projections(directoryHash(keys))
}

// directoryHash is the member directory's NIR index: a keyed hash of its own purpose, unlinkable to the other
// lookup streams. Changing the server key requires a new directory version (rebuild).
func directoryHash(keys *keyedhash.Hasher) memberdirectory.NIRHash {
	return func(nirBody string) string { return keys.StreamFor("memberdirectory", nirBody).String() }
}

// codeDeriver recomputes the one-time codes the mails carry (they are never stored).
func codeDeriver(keys *keyedhash.Hasher) membermail.CodeDeriver {
	return func(kind string, subject uuid.UUID, seq int) string {
		switch kind {
		case membermail.KindActivation:
			return command.ActivationCode(keys, subject, seq)
		case membermail.KindEmailChange:
			return command.EmailChangeCode(keys, subject, seq)
		case membermail.KindPasswordReset:
			return command.ResetCode(keys, subject, seq)
		}
		return ""
	}
}

// mailSender is SMTP when configured, else the .eml outbox.
func mailSender(cfg *Config, logger *slog.Logger) (mail.Sender, error) {
	if cfg.SMTPURL == "" {
		return mail.NewOutbox(mail.OutboxConfig{Dir: cfg.OutboxDir, From: cfg.MailFrom, Logger: logger})
	}
	sc, err := mail.ParseSMTPURL(cfg.SMTPURL)
	if err != nil {
		return nil, fmt.Errorf("smtp-url: %w", err)
	}
	sc.From, sc.Logger = cfg.MailFrom, logger
	return mail.NewSMTP(sc)
}

// app is everything `serve` runs, wired: tests build it the same way the binary does.
type app struct {
	cfg      *Config
	logger   *slog.Logger
	stores   *stores
	registry *prometheus.Registry
	runner   *projections.Runner
	router   *messaging.Router
	// scheduler closes cases whose information deadline lapsed
	scheduler *casework.Scheduler
	// retention destroys the keys of data whose retention ended
	retention *privacy.RetentionScheduler
	// reminders records the appointment reminders that are due (their mails follow from the events)
	reminders *appointmentmail.ReminderScheduler
	// notifications records the deemed notifications of unopened inbox documents (wireInbox)
	notifications *inboxmail.NotificationScheduler
	// auditHeads signs a tree head every --audit-head-interval (wireAudit, audit_tlog.go)
	auditHeads *messaging.Leased
	// referenced tells the blob sweep which blobs a read model references (deposits and published documents)
	referenced blobstore.Referenced
	api        *httpapi.Server
	// blobs holds the deposited files (sealed); swept of orphans by sweepBlobs
	blobs    *blobstore.Store
	deposits *documentsubmissions.Queries
	// integration consumes the finance facts of --integration-url (nil when none is set), from broker
	integration *integration.Consumer
	broker      *integration.Postgres
	// documentsConsumer consumes integration.DocumentsTopic on broker (nil without --integration-url)
	documentsConsumer *integration.Consumer
	// mailer sends the reactions' mails; its idle SMTP sessions are closed at shutdown
	mailer mail.Sender
}

// newApp opens the stores and wires projections, reactions and the HTTP API.
func newApp(ctx context.Context, cfg *Config, logger *slog.Logger) (*app, error) {
	st, err := openStoresFor(ctx, cfg, logger, true)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, logger: logger, stores: st, registry: prometheus.NewRegistry()}
	if err := a.wire(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) wire(ctx context.Context) error {
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	keys, err := a.cfg.keyedHasher()
	if err != nil {
		return err
	}
	registry, err := eventRegistry(a.stores.Keys)
	if err != nil {
		return err
	}
	codec := kurrentdb.NewCodec(registry)
	source := kurrentdb.NewSource(a.stores.Events, codec)
	store := kurrentdb.NewStore(a.stores.Events, codec)
	if err := store.Instrument(a.registry); err != nil {
		return err
	}
	if err := source.Instrument(a.registry); err != nil {
		return err
	}
	if err := a.stores.DB.RegisterMetrics(a.registry); err != nil {
		return err
	}
	hasher, err := credentials.NewHasher(credentials.Config{})
	if err != nil {
		return err
	}
	cmds, err := newCommands(store, keys, hasher)
	if err != nil {
		return err
	}
	models, queries := readmodels.New(a.stores.DB, directoryHash(keys))
	// Bookings try the staff the appointments read model offers; the staff day's stream decides.
	if cmds.appointments, err = command.NewAppointments(command.Runtime{Store: store}, queries.Appointments); err != nil {
		return err
	}
	a.runner, err = projections.NewRunner(a.stores.DB, source, projections.Options{
		Logger: a.logger.With("component", "projections"), Registry: a.registry,
	}, models...)
	if err != nil {
		return err
	}
	if err := messaging.Migrate(ctx, a.stores.DB); err != nil {
		return fmt.Errorf("reactions migrations: %w", err)
	}
	if err := checkPairing(ctx, a.stores.DB, a.stores.Events, a.logger); err != nil {
		return err
	}
	if err := sessions.Migrate(ctx, a.stores.DB); err != nil {
		return fmt.Errorf("sessions migrations: %w", err)
	}
	// Reactions export their metrics on the app's registry; poison replays read events back through the same codec
	// as the feed. Processed-event keys are pruned after --reactions-processed-retention.
	a.router, err = messaging.NewRouter(messaging.RouterConfig{Feed: source, DB: a.stores.DB,
		Logger: a.logger.With("component", "reactions"), Registry: a.registry,
		Events: messaging.NewStoreEvents(a.stores.Events, codec), ProcessedRetention: a.reactionRetention(),
		InFlightWindow: a.cfg.ReactionInFlightWindow, CheckpointInterval: a.cfg.ReactionCheckpointInterval})
	if err != nil {
		return err
	}
	sender, err := mailSender(a.cfg, a.logger.With("component", "mail"))
	if err != nil {
		return err
	}
	a.mailer = sender
	if err := membermail.Register(a.router, membermail.Deps{DB: a.stores.DB, Store: store, Sender: sender,
		Code: codeDeriver(keys), From: a.cfg.MailFrom, Logger: a.logger.With("component", "membermail")}); err != nil {
		return err
	}
	if err := membermail.RegisterNotices(a.router, membermail.Deps{DB: a.stores.DB, Store: store, Sender: sender,
		From: a.cfg.MailFrom, Logger: a.logger.With("component", "membermail")}); err != nil {
		return err
	}
	if err := casework.Migrate(ctx, a.stores.DB); err != nil {
		return fmt.Errorf("casework migrations: %w", err)
	}
	if err := casework.Register(a.router, casework.Deps{DB: a.stores.DB, Store: store, Sender: sender,
		From: a.cfg.MailFrom, Logger: a.logger.With("component", "casework")}); err != nil {
		return err
	}
	if err := a.wireAppointments(ctx, store, sender, cmds.appointments); err != nil {
		return err
	}
	// Conversations: the mail that tells the member a reply is waiting (never its content).
	if err := conversationmail.Register(a.router, conversationmail.Deps{DB: a.stores.DB, Store: store, Sender: sender,
		From: a.cfg.MailFrom, Logger: a.logger.With("component", "conversationmail")}); err != nil {
		return err
	}
	// Facts parked for people without an account (by the consumer or import-finance) reach them at activation.
	if err := integration.RegisterDelivery(a.router, cmds.finance, a.logger.With("component", "integration")); err != nil {
		return err
	}
	if err := a.wireIntegration(cmds.finance); err != nil {
		return err
	}
	// Erasure: the key-destroying reaction and the retention scheduler, over the key store the codec seals with (so
	// this replica's cache forgets an erased key at once).
	if err := a.wirePrivacy(ctx, a.stores.Keys); err != nil {
		return err
	}
	a.scheduler = casework.NewScheduler(casework.SchedulerDeps{DB: a.stores.DB, Logger: a.logger.With("component", "deadlines"),
		Interval: a.cfg.DeadlineCheck,
		Lapse: func(ctx context.Context, requestID uuid.UUID) error {
			// One command id per request: a repeated lapse appends nothing new.
			_, err := cmds.cases.LapseInformationDeadline(ctx, command.Meta{
				CommandID: uuid.NewSHA1(requestID, []byte("lapse")), CorrelationID: requestID}, requestID)
			return err
		}})
	// Deposits of documents: files sealed in the blob store, their acknowledgement mail.
	a.deposits = queries.Deposits
	if a.blobs, err = a.openBlobs(ctx); err != nil {
		return err
	}
	documents, err := a.documentCommands(command.Runtime{Store: store}, a.blobs, cmds.cases)
	if err != nil {
		return err
	}
	useAttachmentFiles(cmds.conversations, a.blobs) // conversations' attachments: the deposits' file rules and store
	if err := documentmail.Register(a.router, documentmail.Deps{DB: a.stores.DB, Store: store, Sender: sender,
		From: a.cfg.MailFrom, Logger: a.logger.With("component", "documentmail")}); err != nil {
		return err
	}
	// The member's inbox: decision letters, attestations, the new-document mail, deemed notifications (inbox.go).
	inboxCmds, err := a.wireInbox(ctx, store, sender, a.blobs)
	if err != nil {
		return err
	}
	if err := a.wireDocumentsIntegration(store, keys, inboxCmds); err != nil { // integration_documents.go
		return err
	}
	a.referenced = referencedBlobs(queries)
	// Tamper evidence: signed heads of the audit tree (audit_tlog.go).
	if err := a.wireAudit(store, queries.AuditTree); err != nil {
		return err
	}
	a.api, err = httpapi.New(httpapi.Config{
		MaxBodyBytes: a.cfg.MaxBodyBytes, RequestTimeout: a.cfg.RequestTimeout, ConsistencyTimeout: a.cfg.ConsistencyTimeout,
	}, httpapi.Deps{
		Logger:      a.logger.With("component", "http"),
		Registry:    a.registry,
		Consistency: a.runner,
		Head:        a.stores.Events, // an impossible consistency position is refused at once
		Sessions:    sessions.New(a.stores.DB, sessions.Policy{}, nil),
		Queries:     queries,
		// The command handlers, each with only its ports.
		MemberCommands:      cmds.members,
		StaffCommands:       cmds.staff,
		CaseCommands:        cmds.cases,
		FinanceCommands:     cmds.finance,
		EstimateCommands:    cmds.estimates,
		AppointmentCommands: cmds.appointments,
		DocumentCommands:    documents,
		Blobs:               a.blobs,
		InboxCommands:       inboxCmds,
		Documents:           a.documentsHTTP(),

		// Conversations ("Nous envoyer un message").
		ConversationCommands: cmds.conversations,

		// The auditor's histories (issue 16 item 1).
		AuditHistory: audithistory.New(a.stores.Events, registry, queries.AuditStreams),

		// Auditor's toolkit (issue 16): the past as it was.
		AsOf: asof.New(a.stores.Events, codec, nil),

		Ready: append([]httpapi.Check{
			{Name: "event_store", Check: a.stores.Events.Ping},
			{Name: "event_store_writes", Check: a.nodeAcceptsWrites},
			{Name: "database", Check: a.stores.DB.PingContext},
			{Name: "projections", Check: func(context.Context) error { return a.runner.Ready() }},
			{Name: "reactions", Check: a.router.Started},
		}, a.integrationChecks()...),
	})
	return err
}

// run serves until ctx ends or a part fails, then shuts everything down in order: HTTP first (requests in
// flight finish), then projections and reactions, then the stores.
func (a *app) run(ctx context.Context, lis net.Listener) error {
	g, gctx := errgroup.WithContext(ctx)
	srv := httpapi.NewHTTPServer(lis.Addr().String(), a.api.Handler())
	g.Go(func() error {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("http: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := a.runner.Run(gctx); err != nil {
			return fmt.Errorf("projections: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := a.scheduler.Run(gctx); err != nil {
			return fmt.Errorf("deadline scheduler: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := a.reminders.Run(gctx); err != nil {
			return fmt.Errorf("appointment reminders: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := a.retention.Run(gctx); err != nil {
			return fmt.Errorf("retention scheduler: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := a.router.Run(gctx); err != nil && gctx.Err() == nil {
			return fmt.Errorf("reactions: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := a.notifications.Run(gctx); err != nil {
			return fmt.Errorf("inbox notifications: %w", err)
		}
		return nil
	})
	g.Go(func() error { return a.sweepBlobs(gctx, a.blobs, a.referenced) })
	g.Go(func() error { a.auditHeads.Run(gctx); return nil })
	if a.integration != nil {
		g.Go(func() error {
			defer a.broker.Close() // after Run: the subscription has ended with gctx
			if err := a.integration.Run(gctx); err != nil {
				return fmt.Errorf("integration: %w", err)
			}
			return nil
		})
	}
	if a.documentsConsumer != nil {
		g.Go(func() error {
			if err := a.documentsConsumer.Run(gctx); err != nil {
				return fmt.Errorf("integration documents: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		defer cancel()
		err := srv.Shutdown(shutdownCtx)
		a.router.Close()
		return err
	})
	err := g.Wait()
	if c, ok := a.mailer.(interface{ Close() error }); ok {
		_ = c.Close() // QUIT the idle SMTP sessions
	}
	return errors.Join(err, a.stores.Close())
}

// Run starts Dossier and serves until interrupted.
func (c *ServeCmd) Run(ctx context.Context, logger *slog.Logger) error {
	logger = withLevel(logger, c.LogLevel)
	startProfiler(logger) // DOSSIER_PPROF_ADDR only (serve_pprof.go)
	a, err := newApp(ctx, &c.Config, logger)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", c.HTTPAddr)
	if err != nil {
		a.stores.Close()
		return fmt.Errorf("listen on %s: %w", c.HTTPAddr, err)
	}
	logger.Info("dossier serving", append([]any{"url", "http://" + lis.Addr().String()}, c.Redacted()...)...)
	fmt.Printf("Dossier listens on http://%s — events: %s — read models: %s\n",
		lis.Addr(), a.stores.EventStoreName, c.ReadModelName())
	logNextSteps(logger, lis.Addr().String())
	start := time.Now()
	err = a.run(ctx, lis)
	logger.Info("dossier stopped", "uptime", time.Since(start).Round(time.Second).String())
	return err
}

// logNextSteps logs where a newcomer looks once the server runs: the API's OpenAPI document, and the README's first
// steps (sample people to import, a staff account, a TOTP code, the first requests).
func logNextSteps(logger *slog.Logger, addr string) {
	logger.Info("next: the API is described at openapi; to try it, follow first_steps",
		"openapi", "http://"+addr+"/openapi.json", "first_steps", "README.md, First steps on the embedded default")
}

// withLevel returns a logger at the configured level, writing where the base logger writes (stderr).
func withLevel(base *slog.Logger, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return base
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// commands are the command handlers serve runs, one per aggregate, each built with only the ports it takes.
type commands struct {
	members   *command.Members
	staff     *command.Staff
	cases     *command.Cases
	finance   *command.Finance
	estimates *command.Estimates
	// appointments is built in wire: it reads the offers of the appointments read model.
	appointments *command.Appointments
	// conversations: members' messages and the staff's replies.
	conversations *command.Conversations
}

// newCommands builds the handlers over store, with the server key and the password hasher where they are needed,
// the insured-person reference for registrations and the TOTP validator for staff logins.
func newCommands(store command.EventStore, keys *keyedhash.Hasher, hasher command.PasswordHasher) (commands, error) {
	rt := command.Runtime{Store: store}
	var (
		c   commands
		err error
	)
	if c.members, err = command.NewMembers(rt, keys, hasher, insured.NewReference(store, keys)); err != nil {
		return commands{}, err
	}
	if c.staff, err = command.NewStaff(rt, keys, hasher, credentials.NewTOTP(rand.Reader)); err != nil {
		return commands{}, err
	}
	if c.cases, err = command.NewCases(rt); err != nil {
		return commands{}, err
	}
	if c.finance, err = command.NewFinance(rt, keys); err != nil {
		return commands{}, err
	}
	if c.estimates, err = command.NewEstimates(rt); err != nil {
		return commands{}, err
	}
	if c.conversations, err = command.NewConversations(rt); err != nil {
		return commands{}, err
	}
	return c, nil
}

// wireAppointments adds the appointment mails and the reminder scheduler (lead --appointment-reminder-lead, checked
// every --deadline-check-interval).
func (a *app) wireAppointments(ctx context.Context, store *kurrentdb.Store, sender mail.Sender, cmds *command.Appointments) error {
	if err := appointmentmail.Migrate(ctx, a.stores.DB); err != nil {
		return fmt.Errorf("appointment reminders migrations: %w", err)
	}
	if err := appointmentmail.Register(a.router, appointmentmail.Deps{DB: a.stores.DB, Store: store, Sender: sender,
		From: a.cfg.MailFrom, Lead: a.cfg.AppointmentReminderLead,
		Logger: a.logger.With("component", "appointmentmail")}); err != nil {
		return err
	}
	a.reminders = appointmentmail.NewScheduler(appointmentmail.SchedulerDeps{DB: a.stores.DB,
		Interval: a.cfg.DeadlineCheck, Logger: a.logger.With("component", "appointment-reminders"),
		Remind: func(ctx context.Context, memberID, id uuid.UUID, start time.Time) error {
			_, err := cmds.Remind(ctx, memberID, id, start)
			return err
		}})
	return nil
}

// reactionRetention is RouterConfig.ProcessedRetention: the configured retention, negative (never) for 0 or less.
func (a *app) reactionRetention() time.Duration {
	if a.cfg.ReactionRetention <= 0 {
		return -1
	}
	return a.cfg.ReactionRetention
}

// wireIntegration attaches the finance-facts consumer to the broker named by --integration-url, if any (without it,
// `dossier admin import-finance` is the feed). Its counter goes on the app's registry.
func (a *app) wireIntegration(finance *command.Finance) error {
	if a.cfg.IntegrationURL == "" {
		return nil
	}
	logger := a.logger.With("component", "integration")
	broker, err := integration.OpenPostgres(integration.PostgresConfig{URL: a.cfg.IntegrationURL,
		PollInterval: a.cfg.IntegrationPoll, Logger: logger, Registerer: a.registry})
	if err != nil {
		return fmt.Errorf("integration-url: %w", err)
	}
	metrics, err := integration.NewMetrics(a.registry)
	if err == nil {
		a.integration, err = integration.NewConsumer(integration.ConsumerConfig{Subscriber: broker.Subscriber(),
			Handle: integration.Finance(finance), Logger: logger, Metrics: metrics, Ping: broker.Ping})
	}
	if err != nil {
		broker.Close()
		return err
	}
	a.broker = broker
	return nil
}

// integrationChecks is the consumer's /readyz check ("integration": subscribed, and the broker answers), when it
// runs. It is advisory: a broker outage delays the finance facts but must not take the members' API out of the load
// balancer (every replica shares the broker); the consumer retries on its own and logs.
func (a *app) integrationChecks() []httpapi.Check {
	if a.integration == nil {
		return nil
	}
	checks := []httpapi.Check{{Name: "integration", Check: a.integration.Ready, Advisory: true}}
	if a.documentsConsumer != nil {
		checks = append(checks, httpapi.Check{Name: "integration-documents", Check: a.documentsConsumer.Ready, Advisory: true})
	}
	return checks
}
