package failure_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/msa-dossier/dossier/domain/failure"
)

// TestOp checks that naming the operation keeps everything a caller reads from the cause: the sentinel (errors.Is),
// its kind and code, the field it is about, and errors.As targets; and that the operation is in Error.Op.
func TestOp(t *testing.T) {
	cause := failure.Field("email", fmt.Errorf("normalize: %w", errTaken))
	tests := []struct {
		name    string
		err     error
		wantMsg string
	}{
		{"op", failure.Op("command.Register", cause), "command.Register: email: normalize: member already registered"},
		{"opf", failure.Opf("command.Register", "claim: %w", cause), "command.Register: claim: email: normalize: member already registered"},
		{"nested ops", failure.Op("command.Outer", failure.Op("command.Inner", cause)), "command.Outer: command.Inner: email: normalize: member already registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, errTaken) {
				t.Error("errors.Is lost the sentinel")
			}
			if !errors.Is(tt.err, failure.Conflict) {
				t.Error("errors.Is(err, Conflict) = false")
			}
			if errors.Is(tt.err, failure.Invalid) {
				t.Error("errors.Is(err, Invalid) = true")
			}
			if got := failure.KindOf(tt.err); got != failure.Conflict {
				t.Errorf("KindOf = %v", got)
			}
			if got := failure.CodeOf(tt.err); got != "member.already_registered" {
				t.Errorf("CodeOf = %q", got)
			}
			if got := failure.FieldOf(tt.err); got != "email" {
				t.Errorf("FieldOf = %q", got)
			}
			if got := tt.err.Error(); got != tt.wantMsg {
				t.Errorf("Error() = %q, want %q", got, tt.wantMsg)
			}
			var fe *failure.Error
			if !errors.As(tt.err, &fe) || fe.Op == "" || fe.Kind != failure.Internal {
				t.Errorf("outermost *Error = %+v, want the operation's", fe)
			}
		})
	}
}

func TestOpUnclassified(t *testing.T) {
	if failure.Op("op", nil) != nil {
		t.Fatal("Op(nil) must be nil")
	}
	err := failure.Opf("command.StaffLogin", "no session id")
	if failure.KindOf(err) != failure.Internal || failure.CodeOf(err) != "internal" || failure.FieldOf(err) != "" {
		t.Fatalf("kind %v, code %q, field %q", failure.KindOf(err), failure.CodeOf(err), failure.FieldOf(err))
	}
	var fe *failure.Error
	if !errors.As(err, &fe) || fe.Op != "command.StaffLogin" || err.Error() != "command.StaffLogin: no session id" {
		t.Fatalf("err = %v (%+v)", err, fe)
	}
	if !errors.Is(failure.Op("x", failure.Errorf(failure.Unavailable, "down")), failure.Unavailable) {
		t.Fatal("kind of a classified cause lost")
	}
}
