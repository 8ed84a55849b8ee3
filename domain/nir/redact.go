package nir

import (
	"fmt"
	"log/slog"
	"strconv"
)

// Redacted returns the form of n that may appear in logs and error messages: the sex digit and the order number,
// everything else masked, 15 characters as in "1*********042**". It is "" for the zero NIR.
func (n NIR) Redacted() string {
	if n.body == "" {
		return ""
	}
	return n.body[:1] + "*********" + n.body[10:13] + "**"
}

// String returns the redacted form (see Redacted), never the NIR: use Body or Full for the clear value.
func (n NIR) String() string { return n.Redacted() }

// GoString returns the redacted form, for %#v.
func (n NIR) GoString() string { return "nir.NIR(" + strconv.Quote(n.Redacted()) + ")" }

// Format prints the redacted form for every verb (%v, %s, %q, %x, %d, …), so that no formatting of a NIR reveals it.
func (n NIR) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'q':
		fmt.Fprint(f, strconv.Quote(n.Redacted()))
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, n.GoString())
	default:
		fmt.Fprint(f, n.Redacted())
	}
}

// LogValue makes slog print the redacted form.
func (n NIR) LogValue() slog.Value { return slog.StringValue(n.Redacted()) }

var (
	_ fmt.Stringer   = NIR{}
	_ fmt.Formatter  = NIR{}
	_ slog.LogValuer = NIR{}
)
