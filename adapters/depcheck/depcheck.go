// Package depcheck is how an adapter checks the dependencies it is given: every problem is reported at once, joined
// (errors.Join), so that a wiring mistake is fixed in one go.
//
//	func (d Deps) Validate() error {
//		return depcheck.New("casework:").Require("DB", d.DB).Require("Store", d.Store).Err()
//	}
package depcheck

import (
	"errors"
	"fmt"
	"reflect"
)

// Check gathers the problems of one set of dependencies. Its zero value has no prefix.
type Check struct {
	prefix string
	errs   []error
}

// New starts a check whose messages begin with prefix ("casework:", "casework: scheduler").
func New(prefix string) *Check { return &Check{prefix: prefix} }

// Require records "<prefix> <name> is required" when v is nil: a nil interface, or a nil pointer, func, map,
// slice or channel in one.
func (c *Check) Require(name string, v any) *Check {
	if isNil(v) {
		c.errs = append(c.errs, errors.New(c.text(name+" is required")))
	}
	return c
}

// Problem records "<prefix> <text>" when bad.
func (c *Check) Problem(bad bool, format string, args ...any) *Check {
	if bad {
		c.errs = append(c.errs, errors.New(c.text(fmt.Sprintf(format, args...))))
	}
	return c
}

// Add records err, if not nil, as it is.
func (c *Check) Add(err error) *Check {
	if err != nil {
		c.errs = append(c.errs, err)
	}
	return c
}

// Err returns every problem recorded, joined, or nil.
func (c *Check) Err() error { return errors.Join(c.errs...) }

func (c *Check) text(s string) string {
	if c.prefix == "" {
		return s
	}
	return c.prefix + " " + s
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}
