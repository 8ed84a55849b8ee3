package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/msa-dossier/dossier/adapters/messaging"
	"github.com/msa-dossier/dossier/domain/failure"
)

type customError struct{ detail string }

func (e *customError) Error() string { return "custom: " + e.detail }

// recovered runs f under watermill's Recoverer and returns the error it makes of the panic.
func recovered(f func()) error {
	_, err := middleware.Recoverer(func(*message.Message) ([]*message.Message, error) {
		f()
		return nil, nil
	})(message.NewMessage("x", nil))
	return err
}

func TestDescribeKeepsKindsCodesAndPlacesButNoMessages(t *testing.T) {
	var nilMap map[string]int
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain text", fmt.Errorf("mail to %s bounced", secretEmail), "internal"},
		{"sentinel with op", failure.Wrap("command.Register", failure.Internal,
			fmt.Errorf("for %s: %w", secretNIR, errCaseClosed)), "rule testcase.closed in command.Register"},
		{"errorf", failure.Errorf(failure.Invalid, "email %s", secretEmail), "invalid"},
		{"unavailable over a typed cause", failure.Wrap("smtp.Send", failure.Unavailable, &customError{secretEmail}),
			"unavailable in smtp.Send: *messaging_test.customError"},
		{"standard sentinel", fmt.Errorf("read %s: %w", secretNIR, context.DeadlineExceeded), "internal: context deadline exceeded"},
		{"bare kind", fmt.Errorf("moved: %w", failure.Conflict), "conflict"},
		{"joined", errors.Join(errCaseClosed, &customError{secretNIR}), "rule testcase.closed: *messaging_test.customError"},
		{"runtime panic", recovered(func() { nilMap["x"] = 1 }),
			"internal: panic: assignment to entry in nil map at github.com/msa-dossier/dossier/adapters/messaging_test.TestDescribeKeepsKindsCodesAndPlacesButNoMessages.func"},
		{"error panic", recovered(func() { panic(failure.Errorf(failure.Invalid, "nir %s", secretNIR)) }), "internal: panic: invalid at "},
		{"string panic", recovered(func() { panic("NIR " + secretNIR) }), "internal: panic: value of type string at "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := messaging.Describe(tt.err)
			if !strings.HasPrefix(got, tt.want) || (tt.want == "" && got != "") {
				t.Errorf("Describe = %q, want it to start with %q", got, tt.want)
			}
			if strings.Contains(got, secretEmail) || strings.Contains(got, secretNIR) {
				t.Errorf("Describe = %q holds personal data", got)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{errors.New("io"), true},
		{failure.Wrap("x", failure.Unavailable, errors.New("down")), true},
		{fmt.Errorf("x: %w", failure.Conflict), true},
		{failure.Errorf(failure.Invalid, "bad"), false},
		{fmt.Errorf("x: %w", errCaseClosed), false},
		{recovered(func() { panic("bug") }), false},
	}
	for _, tt := range tests {
		if got := messaging.Retryable(tt.err); got != tt.want {
			t.Errorf("Retryable(%v) = %v, want %v", messaging.Describe(tt.err), got, tt.want)
		}
	}
}
