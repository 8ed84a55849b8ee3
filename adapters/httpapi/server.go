// Package httpapi is Dossier's HTTP interface for the portal, the staff console and operators.
//
// Every route is declared once, in routes.go, with what the OpenAPI document says about it: the mux and
// /openapi.json are both built from that table, so a route cannot be served undocumented, and the mux wraps each
// handler in the session check, throttle and consistency wait its metadata declares, so a route cannot enforce
// other rules than it documents. Handlers decode,
// validate, call the application layer and answer; errors become {code, message} with a stable machine code
// and a French sentence (errors.go). Commands answer with the commit position of their events in the
// X-Dossier-Position header; a read may send it back (X-Dossier-Min-Position header or min_position query
// parameter) and waits, bounded, until the read models have reached it (consistency.go).
package httpapi

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/msa-dossier/dossier/adapters/audithistory"
	"github.com/msa-dossier/dossier/adapters/sessions"
	"github.com/msa-dossier/dossier/domain/command"
	"github.com/msa-dossier/dossier/projections/readmodels"
)

// Config holds the HTTP limits.
type Config struct {
	MaxBodyBytes       int64         // request bodies above it are refused with 413
	RequestTimeout     time.Duration // each request's context ends after it
	ConsistencyTimeout time.Duration // how long a read waits for the read models to reach a position
	// MaxHeaderBytes bounds the request line and headers (64 KiB by default): above it the API answers 431 with
	// its JSON error body (request.header_too_large). It must stay below the http.Server's own MaxHeaderBytes (see
	// NewHTTPServer), past which net/http answers in plain text before any handler runs.
	MaxHeaderBytes int
}

func (c *Config) setDefaults() {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 15 * time.Second
	}
	if c.ConsistencyTimeout <= 0 {
		c.ConsistencyTimeout = 2 * time.Second
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
}

// Check is one readiness condition (event store reachable, database reachable, projections caught up).
type Check struct {
	Name  string
	Check func(ctx context.Context) error
	// Advisory checks are reported in the /readyz body but never make it answer 503: a dependency whose outage
	// must not take the HTTP API out of the load balancer (an integration broker the members never touch).
	Advisory bool
}

// Consistency waits until the read models have applied every event up to a commit position: the named ones
// (projection names), or every one when none is named.
type Consistency interface {
	WaitFor(ctx context.Context, position uint64, projections ...string) error
}

// LogHead tells where the event log ends (*kurrentdb.Client implements it): a consistency position beyond it was
// never given by a command and cannot be waited for.
type LogHead interface {
	Head(ctx context.Context) (uint64, error)
}

// Deps are what the handlers use.
type Deps struct {
	Logger      *slog.Logger
	Registry    *prometheus.Registry // /metrics serves it; HTTP metrics are registered on it
	Ready       []Check
	Consistency Consistency
	// Head, when set, lets a read refuse at once a consistency position beyond the end of the event log
	// (consistency.position_unreachable) instead of waiting for it.
	Head LogHead
	// The French sentence of each error code comes from domain/messages, not from Deps.
	Sessions *sessions.Store
	// Queries are the read models' queries (s.deps.Queues, s.deps.Accounts…), built with their projections by
	// readmodels.New: a new read model is wired there, not here.
	readmodels.Queries
	// The command handlers, one per aggregate, each built with only its ports.
	MemberCommands   *command.Members
	StaffCommands    *command.Staff
	CaseCommands     *command.Cases
	FinanceCommands  *command.Finance
	EstimateCommands *command.Estimates
	// AppointmentCommands: availability, bookings, cancellations, reschedules, reminders and outcomes.
	AppointmentCommands *command.Appointments
	// ConversationCommands: members' conversations ("Nous envoyer un message") and the staff's work on them.
	ConversationCommands *command.Conversations
	// DocumentCommands run the members' deposits of documents and the intake; Blobs reads the stored files back;
	// Documents configures the deposit routes (nil DocumentCommands: those routes answer 503).
	DocumentCommands *command.Documents
	Blobs            BlobReader
	Documents        DocumentsConfig
	// InboxCommands record the member's first opening of a document of their inbox (nil: content answers 503).
	InboxCommands *command.Inbox
	// AuditHistory reads the auditor's histories of a member or a case (nil: those routes answer 503).
	AuditHistory *audithistory.Reader

	// AsOf builds the auditor's views of the past (GET /v1/audit/…?at=); nil: those routes answer 503.
	AsOf AuditAsOf
	// SessionAbsolute is the sessions' absolute lifetime (the cookie's expiry).
	SessionAbsolute time.Duration
	// NewID makes session ids (nil: uuid.New).
	NewID func() uuid.UUID
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	deps    Deps
	metrics *httpMetrics
	// throttles of the endpoints open to anyone (registration, login, password reset)
	registrations, codes, logins, resets *throttle
	deposits                             *throttle // per member (see submitDocuments)
	table                                []route   // built once: the mux, 405 answers and /openapi.json all read it
	handler                              http.Handler
	// knownHead is the highest end of the event log seen (Deps.Head): positions up to it need no look-up.
	knownHead atomic.Uint64
}

// New builds the API.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg.setDefaults()
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	if deps.NewID == nil {
		deps.NewID = uuid.New
	}
	if deps.SessionAbsolute <= 0 {
		deps.SessionAbsolute = 12 * time.Hour
	}
	m, err := newHTTPMetrics(deps.Registry)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: deps, metrics: m,
		registrations: newThrottle(10, 5, 20),
		codes:         newThrottle(30, 10, 50),
		logins:        newThrottle(20, 10, 20),
		resets:        newThrottle(10, 5, 20),
		deposits:      newThrottle(cmp.Or(deps.Documents.PerMemberPerMinute, 6), cmp.Or(deps.Documents.PerMemberBurst, 10), 1000),
	}
	s.table = s.routes()
	mux := http.NewServeMux()
	for _, rt := range s.table {
		h, err := s.mount(rt)
		if err != nil {
			return nil, err
		}
		mux.Handle(rt.Method+" "+rt.Path, h)
	}
	mux.HandleFunc("/", s.notFound)
	s.handler = s.middleware(mux)
	return s, nil
}

// Handler returns the root handler with every middleware.
func (s *Server) Handler() http.Handler { return s.handler }

// DefaultMaxHeaderBytes is the API's own bound on the request line and headers (Config.MaxHeaderBytes).
const DefaultMaxHeaderBytes = 64 << 10

// ServerMaxHeaderBytes is the http.Server's bound on the request line and headers. net/http enforces it itself, with a
// plain-text 431 written before any handler runs; it is well above the API's own bound (DefaultMaxHeaderBytes), so
// that a long URL or header gets the API's JSON 431 from the middleware, and only a request beyond 1 MiB of headers,
// which no client of the API sends by mistake, meets net/http's.
const ServerMaxHeaderBytes = 1 << 20

// NewHTTPServer returns an http.Server with the timeouts a public API needs.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
	}
}
