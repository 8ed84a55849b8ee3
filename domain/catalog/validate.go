package catalog

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/msa-dossier/dossier/domain/failure"
)

// dateLayout is the only date form accepted and produced.
const dateLayout = "2006-01-02"

// Validate checks a form for the request service code and returns it normalised, or every problem at once.
//
// The form is what a JSON object decodes to (map[string]any, numbers as float64 or json.Number); Go integers,
// int64 and bool are read as well, so that a normalised form validates again to itself. Per field type:
//
//	text     a string, trimmed; an empty or blank string counts as absent; no control characters other than
//	         newline and tab; at most MaxLength characters (form.too_long); matching Pattern (form.invalid_format)
//	date     "YYYY-MM-DD", a real calendar date within MinDate–MaxDate (form.invalid_date, form.date_out_of_range)
//	amount   a whole number of euro cents, ≥ 0, within Min–Max (form.invalid_amount, form.below_minimum,
//	         form.above_maximum); a string of digits is read as well
//	integer  a whole number within Min–Max (form.invalid_integer, …)
//	choice   the code of one of the options (form.not_in_choices)
//	boolean  true or false, or the strings "true" and "false" (form.invalid_boolean); MustBeTrue fields must be
//	         true (form.must_be_true)
//
// A required field that is absent or null fails with form.required; a field the form does not declare fails with
// form.unknown_field (a form is never a place to smuggle data in). Absent optional fields are left out of the
// result. On failure the error is a FieldErrors (request.form_invalid) and the map is nil. An unknown code gives
// ErrUnknownService; a service that is not a request gives ErrNotARequest.
func (c *Catalog) Validate(code string, form map[string]any) (map[string]any, error) {
	i, ok := c.byCode[code]
	if !ok {
		return nil, ErrUnknownService
	}
	s := &c.services[i]
	if s.Kind != KindRequest {
		return nil, ErrNotARequest
	}
	var problems FieldErrors
	out := make(map[string]any, len(s.Fields))
	for _, f := range s.Fields {
		raw, present := form[f.Name]
		if present && raw == nil {
			present = false
		}
		if !present {
			if f.Required {
				problems = append(problems, failure.Field(f.Name, ErrRequired))
			}
			continue
		}
		v, err := c.normalize(f, raw)
		if err == nil && v == nil { // blank text
			if f.Required {
				err = ErrRequired
			} else {
				continue
			}
		}
		if err != nil {
			problems = append(problems, failure.Field(f.Name, err))
			continue
		}
		out[f.Name] = v
	}
	var unknown []string
	for name := range form {
		if !slices.ContainsFunc(s.Fields, func(f Field) bool { return f.Name == name }) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		problems = append(problems, failure.Field(name, ErrUnknownField))
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return out, nil
}

// normalize reads one present, non-null value; it returns (nil, nil) for a blank text.
func (c *Catalog) normalize(f Field, raw any) (any, error) {
	switch f.Type {
	case FieldText:
		s, ok := raw.(string)
		if !ok || !utf8.ValidString(s) {
			return nil, ErrInvalidText
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil
		}
		for _, r := range s {
			if unicode.IsControl(r) && r != '\n' && r != '\t' {
				return nil, ErrInvalidText
			}
		}
		limit := f.MaxLength
		if limit <= 0 {
			limit = DefaultMaxLength
		}
		if utf8.RuneCountInString(s) > limit {
			return nil, ErrTooLong
		}
		if f.Pattern != "" && !c.patterns[f.Pattern].MatchString(s) {
			return nil, ErrInvalidFormat
		}
		return s, nil
	case FieldDate:
		s, ok := raw.(string)
		if !ok {
			return nil, ErrInvalidDate
		}
		s = strings.TrimSpace(s)
		d, err := time.Parse(dateLayout, s)
		if err != nil || d.Format(dateLayout) != s {
			return nil, ErrInvalidDate
		}
		lo, hi := cmp.Or(f.MinDate, DefaultMinDate), cmp.Or(f.MaxDate, DefaultMaxDate)
		if s < lo || s > hi { // YYYY-MM-DD strings compare as dates
			return nil, ErrDateOutOfRange
		}
		return s, nil
	case FieldAmount, FieldInteger:
		bad := ErrInvalidInteger
		if f.Type == FieldAmount {
			bad = ErrInvalidAmount
		}
		n, ok := readInt(raw)
		if !ok {
			return nil, bad
		}
		lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
		if f.Type == FieldAmount {
			lo, hi = 0, MaxAmount
		}
		if f.Min != nil {
			lo = max(lo, *f.Min)
		}
		if f.Max != nil {
			hi = min(hi, *f.Max)
		}
		switch {
		case n < lo:
			return nil, ErrBelowMinimum
		case n > hi:
			return nil, ErrAboveMaximum
		}
		return n, nil
	case FieldChoice:
		s, ok := raw.(string)
		if !ok {
			return nil, ErrNotInChoices
		}
		s = strings.TrimSpace(s)
		if !slices.ContainsFunc(f.Options, func(o Option) bool { return o.Code == s }) {
			return nil, ErrNotInChoices
		}
		return s, nil
	case FieldBoolean:
		var b bool
		switch v := raw.(type) {
		case bool:
			b = v
		case string:
			switch strings.TrimSpace(v) {
			case "true":
				b = true
			case "false":
			default:
				return nil, ErrInvalidBoolean
			}
		default:
			return nil, ErrInvalidBoolean
		}
		if f.MustBeTrue && !b {
			return nil, ErrMustBeTrue
		}
		return b, nil
	}
	return nil, ErrInvalidFormat // a field type this version does not know: data error, caught by the tests
}

// maxExactFloat is 2^53: beyond it a float64 no longer holds every integer, so a JSON number that large may not be
// the number typed.
const maxExactFloat = 1 << 53

// readInt reads a whole number from a decoded JSON value or a Go integer.
func readInt(raw any) (int64, bool) {
	switch v := raw.(type) {
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > maxExactFloat || math.IsNaN(v) {
			return 0, false
		}
		return int64(v), true
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		return n, err == nil
	case string:
		s := strings.TrimSpace(v)
		if s == "" || len(s) > 19 {
			return 0, false
		}
		for i := 0; i < len(s); i++ {
			if (s[i] < '0' || s[i] > '9') && !(i == 0 && s[i] == '-') {
				return 0, false
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	return 0, false
}
