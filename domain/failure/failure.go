// Package failure classifies errors by what the caller can do about them.
//
// Every error that crosses a layer carries, somewhere in its chain, a Kind: the HTTP layer maps it to a status code,
// the reaction router decides from it whether to retry, and logs keep it as a field. Packages declare their sentinels
// with New, which also gives them a stable machine Code:
//
//	var ErrAlreadyRegistered = failure.New(failure.Conflict, "member.already_registered", "member already registered")
//
// and wrap with %w as usual; errors.Is still finds the sentinel, KindOf and CodeOf find its kind and code:
//
//	return fmt.Errorf("register member: %w", ErrAlreadyRegistered)
//	errors.Is(err, failure.Conflict) // true
//	failure.CodeOf(err)              // "member.already_registered"
//
// The message given to New is English, for logs and operators. The sentence a person reads is looked up by code in
// domain/messages; a test there fails for a code declared with New that has no sentence.
package failure

import (
	"errors"
	"fmt"
)

// Kind is what kind of failure an error is. The zero Kind is Internal: an error nobody classified.
type Kind uint8

// The kinds. Their String values are stable machine codes (API clients and dashboards depend on them).
const (
	// Internal is an unclassified error: a bug or an unexpected infrastructure failure (HTTP 500).
	Internal Kind = iota
	// Invalid means the input is malformed or incomplete; retrying it unchanged cannot succeed (422/400).
	Invalid
	// NotFound means the thing named does not exist, or the caller may not know that it does (404).
	NotFound
	// Conflict means the state changed under the caller (optimistic concurrency) or the thing already exists (409).
	Conflict
	// Forbidden means the caller is known but not allowed to do this (403).
	Forbidden
	// Rule means a business rule refuses the request as stated (422).
	Rule
	// Unauthenticated means the caller is not (or no longer) known (401).
	Unauthenticated
	// Unavailable means a dependency is temporarily out of reach; the same request may succeed later (503).
	Unavailable
)

var codes = [...]string{
	Internal:        "internal",
	Invalid:         "invalid",
	NotFound:        "not_found",
	Conflict:        "conflict",
	Forbidden:       "forbidden",
	Rule:            "rule",
	Unauthenticated: "unauthenticated",
	Unavailable:     "unavailable",
}

// String returns the kind's stable machine code, such as "conflict".
func (k Kind) String() string {
	if int(k) < len(codes) {
		return codes[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error makes a Kind usable as an error, so that errors.Is(err, failure.Conflict) works and a bare
// fmt.Errorf("...: %w", failure.Conflict) is classified.
func (k Kind) Error() string { return k.String() }

// Error is a classified error. Op names the operation that failed ("member.Register", "kurrentdb.Append"), Code is a
// stable machine code (the Kind's String when empty), Err the underlying cause.
type Error struct {
	Op   string
	Kind Kind
	Code string
	Err  error
}

// New returns a classified error for use as a package sentinel.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Err: errors.New(message)}
}

// Errorf returns an error of the given kind whose cause is fmt.Errorf(format, args...) (so %w works).
func Errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Err: fmt.Errorf(format, args...)}
}

// Wrap classifies err as kind in operation op; it returns nil when err is nil. A kind of Internal only adds op and
// leaves the classification to err's own chain.
func Wrap(op string, kind Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Kind: kind, Err: err}
}

func (e *Error) Error() string {
	msg := e.Code
	if e.Err != nil {
		msg = e.Err.Error()
	}
	if msg == "" {
		msg = e.Kind.String()
	}
	if e.Op != "" {
		return e.Op + ": " + msg
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is this error's Kind, so that errors.Is(err, failure.NotFound) works through wrapping.
// Internal never matches (any error can be internal): use KindOf(err) == failure.Internal.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k != Internal && k == e.Kind
}

// KindOf returns the kind of the outermost classified error in err's chain, or Internal if there is none.
// A wrapping Error whose Kind is Internal defers to the errors it wraps.
func KindOf(err error) Kind {
	for e := err; e != nil; {
		var fe *Error
		if !errors.As(e, &fe) {
			break
		}
		if fe.Kind != Internal {
			return fe.Kind
		}
		e = fe.Err
	}
	var k Kind
	if errors.As(err, &k) {
		return k
	}
	return Internal
}

// CodeOf returns the stable machine code of err: that of the outermost classified error with a Code or a Kind (its
// Code, else its Kind's code), or "internal" for an unclassified error.
func CodeOf(err error) string {
	for e := err; e != nil; {
		var fe *Error
		if !errors.As(e, &fe) {
			break
		}
		if fe.Code != "" {
			return fe.Code
		}
		if fe.Kind != Internal {
			return fe.Kind.String()
		}
		e = fe.Err
	}
	return KindOf(err).String()
}

// FieldError says which input field an error is about, so a form can show the message next to it.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns the error about the field (its kind and code stay visible through the chain).
func (e *FieldError) Unwrap() error { return e.Err }

// Field wraps err as being about the named input field ("email", "address.postal_code"); nil stays nil.
func Field(field string, err error) error {
	if err == nil {
		return nil
	}
	return &FieldError{Field: field, Err: err}
}

// FieldOf returns the input field an error is about, or "".
func FieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}
