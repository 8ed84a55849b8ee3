package messaging

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/failure"
)

// knownErrors are standard sentinels whose text is fixed and says something useful.
var knownErrors = []error{
	context.Canceled, context.DeadlineExceeded, io.EOF, io.ErrUnexpectedEOF, sql.ErrNoRows, sql.ErrTxDone,
	sql.ErrConnDone, fs.ErrNotExist, fs.ErrExist, fs.ErrPermission, os.ErrDeadlineExceeded,
	event.ErrUnknownType, event.ErrInvalidStreamID, event.ErrInvalidMetadata,
}

// Describe returns a description of err that is safe to log and to store in the poison table: the failure kind and
// code, the operations named along the chain, a panic's runtime message and the code location it came from,
// well-known standard errors by their fixed text, and the Go type of anything else. Error messages are left out on
// purpose: they may quote the input (an email, a name, a NIR, a code), and neither logs nor operators' tables may
// hold personal data. The stable codes of failure.New sentinels are what identify a business failure.
//
//	invalid member.invalid_email in command.Register
//	internal: panic: runtime error: index out of range [3] with length 3 at example.com/pkg.(*T).Handle (t.go:42)
//	unavailable in smtp.Send: *net.OpError
func Describe(err error) string {
	if err == nil {
		return ""
	}
	var b strings.Builder
	kind := failure.KindOf(err)
	b.WriteString(kind.String())
	if code := failure.CodeOf(err); code != kind.String() {
		b.WriteString(" " + code)
	}
	var ops, details []string
	seen := map[string]bool{}
	add := func(list *[]string, s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			*list = append(*list, s)
		}
	}
	var walk func(e error, depth int)
	walk = func(e error, depth int) {
		if e == nil || depth > 32 {
			return
		}
		for _, known := range knownErrors {
			if e == known { //nolint:errorlint // identity with the sentinel itself, the chain is walked here
				add(&details, known.Error())
				return
			}
		}
		var fe *failure.Error
		switch x := e.(type) { //nolint:errorlint // each link of the chain is looked at once, on purpose
		case *failure.Error:
			fe = x
			add(&ops, x.Op)
		case failure.Kind:
			return // already said by the kind
		case middleware.RecoveredPanicError:
			add(&details, describePanic(x))
			return
		case *middleware.RecoveredPanicError:
			add(&details, describePanic(*x))
			return
		case runtime.Error:
			add(&details, x.Error())
			return
		}
		switch u := e.(type) { //nolint:errorlint
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				walk(c, depth+1)
			}
		case interface{ Unwrap() error }:
			if c := u.Unwrap(); c != nil {
				walk(c, depth+1)
			} else if fe == nil {
				add(&details, fmt.Sprintf("%T", e))
			}
		default:
			if fe != nil {
				return
			}
			// A leaf: its type is all that is safe to say. Plain texts (errors.New, fmt.Errorf without %w) say nothing.
			if t := fmt.Sprintf("%T", e); t != "*errors.errorString" && t != "*fmt.wrapError" {
				add(&details, t)
			}
		}
	}
	walk(err, 0)
	if len(ops) > 0 {
		b.WriteString(" in " + strings.Join(ops, " > "))
	}
	if len(details) > 0 {
		b.WriteString(": " + strings.Join(details, "; "))
	}
	return b.String()
}

// describePanic names the panic (a runtime error's own message, otherwise the value's type) and the function and
// line that panicked.
func describePanic(p middleware.RecoveredPanicError) string {
	var what string
	switch v := p.V.(type) {
	case runtime.Error:
		what = v.Error()
	case error:
		what = Describe(v)
	case nil:
		what = "nil"
	default:
		what = fmt.Sprintf("value of type %T", v)
	}
	if where := panicSite(p.Stacktrace); where != "" {
		return "panic: " + what + " at " + where
	}
	return "panic: " + what
}

// panicSite finds, in a debug.Stack text, the frame that called panic (or faulted): the first function listed
// after the runtime's panic frame, with its file's base name and line.
func panicSite(stack string) string {
	lines := strings.Split(stack, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "panic(") {
			continue
		}
		// lines[i+1] is the runtime's file; then come function/file pairs. Skip runtime frames (sigpanic, ...).
		for j := i + 2; j+1 < len(lines); j += 2 {
			fn := lines[j]
			if strings.HasPrefix(fn, "runtime.") {
				continue
			}
			if k := strings.LastIndex(fn, "("); k > 0 {
				fn = fn[:k]
			}
			file := strings.TrimSpace(lines[j+1])
			if k := strings.LastIndex(file, " +0x"); k > 0 {
				file = file[:k]
			}
			if k := strings.LastIndex(file, "/"); k >= 0 {
				file = file[k+1:]
			}
			return fn + " (" + file + ")"
		}
	}
	return ""
}
