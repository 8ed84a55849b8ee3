package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Errors returned by the Registry.
var (
	// ErrInvalidDefinition is returned by NewRegistry for a malformed or conflicting Definition.
	ErrInvalidDefinition = errors.New("invalid event definition")
	// ErrUnknownType is returned when decoding a stored (type name, schema version) that no definition or upcaster
	// covers. Consumers must treat it loudly: it means the code is older than the data, or a definition was dropped.
	ErrUnknownType = errors.New("unknown event type")
	// ErrUnregistered is returned when encoding a Go value whose type has no definition.
	ErrUnregistered = errors.New("unregistered event value")
)

// UpcastFunc turns a stored JSON payload into the payload of a later schema. It must be pure and deterministic.
type UpcastFunc func(data []byte) ([]byte, error)

// schema identifies a payload layout: a type name at a schema version.
type schema struct {
	name    string
	version int
}

func (s schema) String() string { return fmt.Sprintf("%s v%d", s.name, s.version) }

type upcaster struct {
	from, to schema
	fn       UpcastFunc
}

// Definition ties a stable event type name to a Go type and to the upcasters that bring older stored payloads to
// the current schema. Build one with Define.
type Definition struct {
	name      string
	version   int
	typ       reflect.Type
	decode    func([]byte) (any, error)
	upcasters []upcaster
	// personal is how the type's personal fields are sealed; nil for a type without any.
	personal *personalPlan
	err      error
}

// Option configures a Definition.
type Option func(*Definition)

// Define declares the event type T under the stable type name. T must be a non-pointer type (a struct, normally);
// decoding yields a T value. Mistakes are reported by NewRegistry, so Definitions lists stay plain expressions.
func Define[T any](name string, opts ...Option) Definition {
	d := Definition{
		name:    name,
		version: 1,
		typ:     reflect.TypeFor[T](),
		decode: func(data []byte) (any, error) {
			var v T
			if err := json.Unmarshal(data, &v); err != nil {
				return nil, err
			}
			return v, nil
		},
	}
	plan, err := planFor(d.typ)
	if err != nil {
		d.fail(err)
	}
	d.personal = plan
	for _, opt := range opts {
		opt(&d)
	}
	return d
}

// Version sets the current schema version (default 1). Every version below it needs an Upcast.
func Version(v int) Option {
	return func(d *Definition) {
		if v < 1 {
			d.fail(fmt.Errorf("version %d is below 1", v))
		}
		d.version = v
	}
}

// Upcast registers fn to turn a payload stored at schema version from into version from+1 of the same type name.
func Upcast(from int, fn UpcastFunc) Option {
	return func(d *Definition) {
		d.upcasters = append(d.upcasters, upcaster{from: schema{d.name, from}, to: schema{d.name, from + 1}, fn: fn})
	}
}

// Replaces declares that this definition supersedes the older type name oldName: fn turns a payload stored as
// (oldName, oldVersion) into version 1 of this definition. A replacing type name starts its life at version 1;
// later versions chain from there with Upcast. Give one Replaces per stored version of the old name.
func Replaces(oldName string, oldVersion int, fn UpcastFunc) Option {
	return func(d *Definition) {
		d.upcasters = append(d.upcasters, upcaster{from: schema{oldName, oldVersion}, to: schema{d.name, 1}, fn: fn})
	}
}

// Name returns the stable type name.
func (d Definition) Name() string { return d.name }

// Version returns the current schema version.
func (d Definition) Version() int { return d.version }

func (d *Definition) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d Definition) check() error {
	if d.err != nil {
		return d.err
	}
	if err := checkName(d.name); err != nil {
		return err
	}
	if d.typ.Kind() == reflect.Pointer || d.typ.Kind() == reflect.Interface {
		return fmt.Errorf("%s is a %s; define the value type", d.typ, d.typ.Kind())
	}
	have := map[int]bool{}
	for _, u := range d.upcasters {
		if u.fn == nil {
			return fmt.Errorf("nil upcaster from %s", u.from)
		}
		if err := checkName(u.from.name); err != nil {
			return fmt.Errorf("upcaster from %s: %w", u.from, err)
		}
		if u.from.version < 1 {
			return fmt.Errorf("upcaster from %s: version below 1", u.from)
		}
		if u.from.name == d.name {
			if u.from.version >= d.version {
				return fmt.Errorf("upcast from v%d but the current version is v%d", u.from.version, d.version)
			}
			have[u.from.version] = true
		}
	}
	for v := 1; v < d.version; v++ {
		if !have[v] {
			return fmt.Errorf("no upcast from v%d to v%d: events stored at v%d could not be read", v, v+1, v)
		}
	}
	return nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty type name")
	case strings.HasPrefix(name, "$"):
		return fmt.Errorf("type name %q: names starting with $ belong to the event store", name)
	case strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("type name %q contains a space or a control character", name)
	}
	return nil
}

// Registry encodes event values to (type name, JSON) and decodes stored payloads back, running upcasters. It is
// immutable once built and safe for concurrent use.
type Registry struct {
	byName    map[string]*Definition
	byType    map[reflect.Type]*Definition
	upcasters map[schema]upcaster
	// sealer seals the personal fields of new records and opens them in stored ones (nil: records in clear).
	sealer Sealer
}

// WithSealer returns a registry like r that seals the personal fields of the events it encodes with s, and opens
// them in the records it decodes (see Sealer).
func (r *Registry) WithSealer(s Sealer) *Registry {
	c := *r
	c.sealer = s
	return &c
}

// NewRegistry builds a registry from the union of definition lists (one per aggregate package). It rejects duplicate
// type names, a Go type defined twice, upcasters that collide or lead nowhere, and malformed definitions, reporting
// every problem at once.
func NewRegistry(lists ...[]Definition) (*Registry, error) {
	r := &Registry{byName: map[string]*Definition{}, byType: map[reflect.Type]*Definition{}, upcasters: map[schema]upcaster{}}
	var errs []error
	for _, list := range lists {
		for _, def := range list {
			d := &def
			if err := d.check(); err != nil {
				errs = append(errs, fmt.Errorf("%q: %w", d.name, err))
				continue
			}
			if _, dup := r.byName[d.name]; dup {
				errs = append(errs, fmt.Errorf("%q: type name defined twice", d.name))
				continue
			}
			if other, dup := r.byType[d.typ]; dup {
				errs = append(errs, fmt.Errorf("%q: Go type %s is already defined as %q", d.name, d.typ, other.name))
				continue
			}
			r.byName[d.name], r.byType[d.typ] = d, d
			for _, u := range d.upcasters {
				if _, dup := r.upcasters[u.from]; dup {
					errs = append(errs, fmt.Errorf("%q: two upcasters from %s", d.name, u.from))
				}
				r.upcasters[u.from] = u
			}
		}
	}
	for from := range r.upcasters {
		if d, ok := r.byName[from.name]; ok && d.version == from.version {
			errs = append(errs, fmt.Errorf("upcaster from %s: that is a current schema", from))
			continue
		}
		if _, err := r.resolve(from); err != nil {
			errs = append(errs, fmt.Errorf("upcaster from %s: %w", from, err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidDefinition, errors.Join(errs...))
	}
	return r, nil
}

// resolve returns the chain of upcasters leading from s to a current schema.
func (r *Registry) resolve(s schema) ([]upcaster, error) {
	var chain []upcaster
	for {
		if d, ok := r.byName[s.name]; ok && d.version == s.version {
			return chain, nil
		}
		u, ok := r.upcasters[s]
		if !ok {
			if d, known := r.byName[s.name]; known {
				return nil, fmt.Errorf("%w: %s (current %s)", ErrUnknownType, s, schema{d.name, d.version})
			}
			return nil, fmt.Errorf("%w: %s", ErrUnknownType, s)
		}
		if len(chain) > len(r.upcasters) {
			return nil, fmt.Errorf("%w: upcasters from %s form a cycle", ErrInvalidDefinition, s)
		}
		chain = append(chain, u)
		s = u.to
	}
}

// Definitions returns the registered definitions (order unspecified).
func (r *Registry) Definitions() []Definition {
	out := make([]Definition, 0, len(r.byName))
	for _, d := range r.byName {
		out = append(out, *d)
	}
	return out
}

// Encode returns the type name, current schema version and JSON payload of the event value v.
func (r *Registry) Encode(v any) (name string, version int, data []byte, err error) {
	d, ok := r.byType[reflect.TypeOf(v)]
	if !ok {
		return "", 0, nil, fmt.Errorf("%w: %T", ErrUnregistered, v)
	}
	data, err = json.Marshal(v)
	if err != nil {
		return "", 0, nil, fmt.Errorf("encode %s: %w", d.name, err)
	}
	return d.name, d.version, data, nil
}

// Decode turns a stored payload into the current Go value of its event type, running the upcasters from the stored
// (name, version) to the current schema. A version of 0 reads as 1. Unknown fields are ignored (tolerant reader).
// data must be in clear: personal fields sealed in a stored record ("_sealed") are opened by Open, which knows the
// record's event id and subject; Decode would leave them zero.
func (r *Registry) Decode(name string, version int, data []byte) (any, error) {
	v, _, err := r.decode(name, version, data)
	return v, err
}

// decode is Decode that also returns the current type name of the value.
func (r *Registry) decode(name string, version int, data []byte) (any, string, error) {
	if version == 0 {
		version = 1
	}
	chain, err := r.resolve(schema{name, version})
	if err != nil {
		return nil, "", err
	}
	current := schema{name, version}
	for _, u := range chain {
		if data, err = u.fn(data); err != nil {
			return nil, "", fmt.Errorf("upcast %s to %s: %w", u.from, u.to, err)
		}
		current = u.to
	}
	v, err := r.byName[current.name].decode(data)
	if err != nil {
		return nil, "", fmt.Errorf("decode %s: %w", current, err)
	}
	return v, current.name, nil
}
