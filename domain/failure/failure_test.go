package failure_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/msa-dossier/dossier/domain/failure"
)

var errTaken = failure.New(failure.Conflict, "member.already_registered", "member already registered")

func TestClassification(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantKind failure.Kind
		wantCode string
		wantMsg  string
	}{
		{"sentinel", errTaken, failure.Conflict, "member.already_registered", "member already registered"},
		{"wrapped sentinel", fmt.Errorf("register: %w", errTaken), failure.Conflict, "member.already_registered", "register: member already registered"},
		{"errorf", failure.Errorf(failure.Invalid, "bad nir %q", "x"), failure.Invalid, "invalid", `bad nir "x"`},
		{"wrap with op", failure.Wrap("kurrentdb.Append", failure.Unavailable, io.ErrUnexpectedEOF), failure.Unavailable, "unavailable", "kurrentdb.Append: unexpected EOF"},
		{"op only defers to cause", failure.Wrap("command.Register", failure.Internal, errTaken), failure.Conflict, "member.already_registered", "command.Register: member already registered"},
		{"outer kind wins", failure.Wrap("x", failure.NotFound, errTaken), failure.NotFound, "not_found", "x: member already registered"},
		{"bare kind", fmt.Errorf("stream moved: %w", failure.Conflict), failure.Conflict, "conflict", "stream moved: conflict"},
		{"unclassified", io.EOF, failure.Internal, "internal", "EOF"},
		{"joined", errors.Join(io.EOF, failure.Errorf(failure.Forbidden, "no")), failure.Forbidden, "forbidden", "EOF\nno"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := failure.KindOf(tt.err); got != tt.wantKind {
				t.Errorf("KindOf = %v, want %v", got, tt.wantKind)
			}
			if got := failure.CodeOf(tt.err); got != tt.wantCode {
				t.Errorf("CodeOf = %q, want %q", got, tt.wantCode)
			}
			if got := tt.err.Error(); got != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", got, tt.wantMsg)
			}
			if tt.wantKind != failure.Internal && !errors.Is(tt.err, tt.wantKind) {
				t.Errorf("errors.Is(err, %v) = false", tt.wantKind)
			}
			for _, other := range []failure.Kind{failure.Invalid, failure.Rule, failure.Unauthenticated} {
				if other != tt.wantKind && other != failure.Forbidden && errors.Is(tt.err, other) {
					t.Errorf("errors.Is(err, %v) = true", other)
				}
			}
		})
	}
}

func TestSentinelIdentity(t *testing.T) {
	err := fmt.Errorf("a: %w", fmt.Errorf("b: %w", errTaken))
	if !errors.Is(err, errTaken) {
		t.Fatal("errors.Is lost the sentinel")
	}
	var fe *failure.Error
	if !errors.As(err, &fe) || fe.Code != "member.already_registered" {
		t.Fatalf("errors.As = %+v", fe)
	}
	if failure.Wrap("op", failure.Conflict, nil) != nil {
		t.Fatal("Wrap(nil) must be nil")
	}
}

func TestKindStrings(t *testing.T) {
	want := map[failure.Kind]string{
		failure.Internal: "internal", failure.Invalid: "invalid", failure.NotFound: "not_found",
		failure.Conflict: "conflict", failure.Forbidden: "forbidden", failure.Rule: "rule",
		failure.Unauthenticated: "unauthenticated", failure.Unavailable: "unavailable",
	}
	for k, s := range want {
		if k.String() != s || k.Error() != s {
			t.Errorf("%d: String %q Error %q, want %q", k, k.String(), k.Error(), s)
		}
	}
	if got := failure.Kind(200).String(); got != "kind(200)" {
		t.Errorf("unknown kind = %q", got)
	}
}
