package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Kind is what a service does for the member.
type Kind string

// The kinds of service.
const (
	// KindRequest opens a case: a form, a queue, an acknowledgement of receipt, a decision.
	KindRequest Kind = "request"
	// KindSimulation computes an estimate and stores nothing unless a member saves the result (Estimer mes
	// cotisations NSA).
	KindSimulation Kind = "simulation"
	// KindConsultation shows facts that come from the fund's other systems (statements, payments, invoices).
	KindConsultation Kind = "consultation"
	// KindInformation is a page of information, with links to other services.
	KindInformation Kind = "information"
)

// Space is one of the two halves of the services page.
type Space string

// The spaces of the services page.
const (
	SpacePro   Space = "pro"   // Mes services pro
	SpacePerso Space = "perso" // Mes services perso
)

// Group is a heading of the services page ("Cotisations" under "Mes services pro").
type Group struct {
	Code       string `json:"code"`
	Label      string `json:"label"`
	Space      Space  `json:"space"`
	SpaceLabel string `json:"space_label"`
}

// Queue is a caseworker queue that cases of request services go to.
type Queue struct {
	Code  string `json:"code"`
	Label string `json:"label"`
	// Confidential queues hold cases with medical content: only the medical service's staff may be assigned.
	Confidential bool `json:"confidential,omitempty"`
}

// SilenceOutcome is what the absence of an express decision means once the silence delay has run.
type SilenceOutcome string

// The silence outcomes.
const (
	// SilenceAcceptance: silence means acceptance (CRPA L231-1, the default rule since 12 Nov 2015 for social
	// security bodies).
	SilenceAcceptance SilenceOutcome = "acceptance"
	// SilenceRejection: silence means rejection (CRPA L231-4: requests of a financial character, requests outside
	// a procedure set by a text, appeals).
	SilenceRejection SilenceOutcome = "rejection"
	// SilenceNone: no implicit decision arises (a document delivered by right, R112-4 2°, or a declaration that
	// asks for no decision); the acknowledgement of receipt then gives no decision date.
	SilenceNone SilenceOutcome = "none"
)

// SilenceRule is the legal rule a request's acknowledgement of receipt states (CRPA R112-5): whether silence
// becomes an acceptance or a rejection, and after how long from the receipt of the complete file.
type SilenceRule struct {
	Outcome SilenceOutcome `json:"outcome"`
	// AfterMonths is the silence delay in calendar months, counted date to date (see DecisionDate).
	AfterMonths int `json:"after_months,omitempty"`
	// Basis is the legal basis, as cited in the acknowledgement ("CRPA L231-1").
	Basis string `json:"basis"`
	// Notice is the French sentence of the acknowledgement of receipt about silence.
	Notice string `json:"notice"`
	// Uncertain marks a rule the domain notes give as an interpretation ([~]): to be confirmed by the fund's
	// legal service; it stays data so that confirming it is a new catalogue version, not a code change.
	Uncertain bool `json:"uncertain,omitempty"`
}

// DecisionDate returns the date on which silence becomes a decision for a complete file received at received,
// and false when the rule gives none (SilenceNone). Months are counted date to date in received's location; when
// the target month is shorter (31 January + 1 month), the delay ends on that month's last day, as French law
// counts délais en mois. Pauses (information requested, L114-5) are the case's business, not the rule's: pass
// the date from which the clock runs again, shifted by the time already elapsed.
func (r SilenceRule) DecisionDate(received time.Time) (time.Time, bool) {
	if r.Outcome == SilenceNone || r.AfterMonths <= 0 {
		return time.Time{}, false
	}
	return addMonthsClamped(received, r.AfterMonths), true
}

// addMonthsClamped adds n calendar months to t, ending on the last day of the target month when t's day does not
// exist in it.
func addMonthsClamped(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	return first.AddDate(0, 0, min(d, last)-1)
}

// SupportingDocument is a piece of evidence expected with a request (pièce justificative).
type SupportingDocument struct {
	Code     string `json:"code"`
	Label    string `json:"label"`
	Required bool   `json:"required"`
	// Medical documents never go through the online deposit: the member posts them to the medical service of the
	// MSA (seed rule).
	Medical bool `json:"medical,omitempty"`
}

// FieldType is the type of a form field, which decides how its value is read and normalised (see Validate).
type FieldType string

// The field types.
const (
	FieldText    FieldType = "text"    // a string; normalised trimmed
	FieldDate    FieldType = "date"    // "YYYY-MM-DD"; normalised as such
	FieldAmount  FieldType = "amount"  // an integer number of euro cents; normalised to int64
	FieldInteger FieldType = "integer" // an integer; normalised to int64
	FieldChoice  FieldType = "choice"  // one of Options' codes; normalised to that string
	FieldBoolean FieldType = "boolean" // true or false; normalised to bool
)

// Option is one possible answer of a choice field.
type Option struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

// Field is one field of a request form, with its constraints.
type Field struct {
	Name     string    `json:"name"`
	Label    string    `json:"label"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required"`
	// Hint is a French help text shown under the field (expected format, where to find the value).
	Hint string `json:"hint,omitempty"`
	// Options are the answers of a choice field, in display order.
	Options []Option `json:"options,omitempty"`
	// MaxLength bounds a text, in characters (DefaultMaxLength when 0).
	MaxLength int `json:"max_length,omitempty"`
	// Pattern is an RE2 expression a text must match whole (for identifiers such as a SIRET).
	Pattern string `json:"pattern,omitempty"`
	// Min and Max bound an integer or an amount (in cents), inclusive. An amount is never negative.
	Min *int64 `json:"min,omitempty"`
	Max *int64 `json:"max,omitempty"`
	// MinDate and MaxDate bound a date, inclusive, as YYYY-MM-DD (DefaultMinDate and DefaultMaxDate when empty).
	// Bounds relative to today (an accident declared within 8 days, a CEAM asked for 15 days before departure)
	// are not form errors: the law attaches consequences to them (a 4-day penalty, a provisional certificate),
	// which the case handles.
	MinDate string `json:"min_date,omitempty"`
	MaxDate string `json:"max_date,omitempty"`
	// MustBeTrue makes a boolean a statement the member must tick (sworn statement, consent).
	MustBeTrue bool `json:"must_be_true,omitempty"`
}

// The default bounds of fields.
const (
	DefaultMaxLength = 1000
	DefaultMinDate   = "1900-01-01"
	DefaultMaxDate   = "2100-12-31"
	// MaxAmount is the largest amount any field accepts when it sets no Max: 10 million euros, in cents.
	MaxAmount int64 = 1_000_000_000
)

// Service is one online service of the member space.
type Service struct {
	Code  string `json:"code"`
	Label string `json:"label"`
	Group string `json:"group"`
	Kind  Kind   `json:"kind"`
	// Description is a French sentence on what the service does and what comes out of it.
	Description string `json:"description,omitempty"`

	// The rest applies to KindRequest only.

	Fields []Field `json:"fields,omitempty"`
	Queue  string  `json:"queue,omitempty"`
	// TargetHandlingDays is the fund's own service-level target, in calendar days from the complete file; it is
	// shorter than the silence delay, and a case beyond it is flagged in its queue.
	TargetHandlingDays int                  `json:"target_handling_days,omitempty"`
	Silence            SilenceRule          `json:"silence,omitzero"`
	AppealRoutes       []string             `json:"appeal_routes,omitempty"`
	Documents          []SupportingDocument `json:"documents,omitempty"`
}

// Field returns the form field of that name.
func (s Service) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f.clone(), true
		}
	}
	return Field{}, false
}

func (f Field) clone() Field {
	f.Options = slices.Clone(f.Options)
	if f.Min != nil {
		v := *f.Min
		f.Min = &v
	}
	if f.Max != nil {
		v := *f.Max
		f.Max = &v
	}
	return f
}

func (s Service) clone() Service {
	fields := make([]Field, len(s.Fields))
	for i, f := range s.Fields {
		fields[i] = f.clone()
	}
	if s.Fields == nil {
		fields = nil
	}
	s.Fields = fields
	s.AppealRoutes = slices.Clone(s.AppealRoutes)
	s.Documents = slices.Clone(s.Documents)
	return s
}

// Catalog is one published version of the catalogue. It is immutable: every accessor returns copies.
type Catalog struct {
	version   string
	groups    []Group
	queues    []Queue
	services  []Service
	byCode    map[string]int
	patterns  map[string]*regexp.Regexp
	canonical []byte
	etag      string
}

// catalogJSON is the canonical JSON form of a catalogue, served as is by GET /v1/catalog.
type catalogJSON struct {
	Version  string    `json:"version"`
	Groups   []Group   `json:"groups"`
	Queues   []Queue   `json:"queues"`
	Services []Service `json:"services"`
}

// build checks a version's data and indexes it. Invalid data is a programming error in this package (the tests
// load every version), hence the panic.
func build(version string, groups []Group, queues []Queue, services []Service) *Catalog {
	c := &Catalog{version: version, groups: groups, queues: queues, services: services,
		byCode: make(map[string]int, len(services)), patterns: map[string]*regexp.Regexp{}}
	groupOK := map[string]bool{}
	for _, g := range groups {
		groupOK[g.Code] = true
	}
	queueOK := map[string]bool{}
	for _, q := range queues {
		queueOK[q.Code] = true
	}
	for i, s := range services {
		if _, dup := c.byCode[s.Code]; dup || s.Code == "" {
			panic(fmt.Sprintf("catalog %s: service code %q empty or duplicated", version, s.Code))
		}
		c.byCode[s.Code] = i
		if !groupOK[s.Group] {
			panic(fmt.Sprintf("catalog %s: service %s: unknown group %q", version, s.Code, s.Group))
		}
		if s.Kind == KindRequest && !queueOK[s.Queue] {
			panic(fmt.Sprintf("catalog %s: service %s: unknown queue %q", version, s.Code, s.Queue))
		}
		for _, f := range s.Fields {
			if f.Pattern != "" {
				c.patterns[f.Pattern] = regexp.MustCompile(`^(?:` + f.Pattern + `)$`)
			}
		}
	}
	var err error
	c.canonical, err = json.Marshal(catalogJSON{Version: version, Groups: groups, Queues: queues, Services: services})
	if err != nil {
		panic(fmt.Sprintf("catalog %s: %v", version, err))
	}
	sum := sha256.Sum256(c.canonical)
	c.etag = `"` + hex.EncodeToString(sum[:16]) + `"`
	return c
}

// Version returns the catalogue's version string, such as "2026.1".
func (c *Catalog) Version() string { return c.version }

// ETag returns a strong HTTP entity tag (quoted) of the canonical JSON: the same for the same data, different as
// soon as any data changes.
func (c *Catalog) ETag() string { return c.etag }

// MarshalJSON returns the canonical JSON of the catalogue: {version, groups, queues, services}.
func (c *Catalog) MarshalJSON() ([]byte, error) { return slices.Clone(c.canonical), nil }

// Groups returns the headings of the services page, in display order.
func (c *Catalog) Groups() []Group { return slices.Clone(c.groups) }

// Queues returns the caseworker queues that request services use.
func (c *Catalog) Queues() []Queue { return slices.Clone(c.queues) }

// Services returns every service, in display order.
func (c *Catalog) Services() []Service {
	out := make([]Service, len(c.services))
	for i, s := range c.services {
		out[i] = s.clone()
	}
	return out
}

// Lookup returns the service with that code, or ErrUnknownService.
func (c *Catalog) Lookup(code string) (Service, error) {
	i, ok := c.byCode[code]
	if !ok {
		return Service{}, ErrUnknownService
	}
	return c.services[i].clone(), nil
}

// Queue returns the queue with that code.
func (c *Catalog) Queue(code string) (Queue, bool) {
	for _, q := range c.queues {
		if q.Code == code {
			return q, true
		}
	}
	return Queue{}, false
}
