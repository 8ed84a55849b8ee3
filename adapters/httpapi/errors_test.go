package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/messages"
	"github.com/msa-dossier/dossier/domain/nir"
	"github.com/msa-dossier/dossier/domain/servicerequest"
	"github.com/msa-dossier/dossier/projections/memberrequests"
)

// TestErrorsAnswerTheSentenceOfTheirCode: every error answers {code, message} with its code's sentence from
// domain/messages, whatever package declared it and however it was wrapped; unclassified errors answer "internal".
func TestErrorsAnswerTheSentenceOfTheirCode(t *testing.T) {
	s := newTestServer(t, Deps{})
	for _, tt := range []struct {
		err        error
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{failure.Field("reason", fmt.Errorf("decide case: %w", servicerequest.ErrReasonTooLong)), 422,
			"servicerequest.reason_too_long", "reason"},
		{failure.Field("reason", servicerequest.ErrReasonRequired), 422, "servicerequest.reason_required", "reason"},
		{fmt.Errorf("register: %w", nir.ErrKey), 422, "nir.invalid_key", ""},
		{memberrequests.ErrNotFound, 404, "memberrequests.not_found", ""},
		{failure.Errorf(failure.Conflict, "stale revision"), 409, "conflict", ""},
		{errors.New("disk on fire"), 500, "internal", ""},
		{failure.New(failure.Internal, "test.internal_reason", "inner reason"), 500, "internal", ""},
	} {
		t.Run(tt.wantCode, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.writeError(rec, httptest.NewRequest("POST", "/v1/anything", nil), tt.err)
			var b ErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatal(err)
			}
			want, ok := messages.FR(tt.wantCode)
			if rec.Code != tt.wantStatus || b.Code != tt.wantCode || b.Field != tt.wantField || !ok || b.Message != want {
				t.Fatalf("%d %+v, want %d %s field %q message %q", rec.Code, b, tt.wantStatus, tt.wantCode, tt.wantField, want)
			}
		})
	}
}

// TestCodeWithoutSentence: should a code without a sentence slip past domain/messages' test, the answer keeps the
// code and says the kind's sentence (and the server logs it).
func TestCodeWithoutSentence(t *testing.T) {
	s := newTestServer(t, Deps{})
	rec := httptest.NewRecorder()
	s.writeError(rec, httptest.NewRequest("POST", "/v1/anything", nil), failure.New(failure.Rule, "test.no_sentence", "x"))
	var b ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatal(err)
	}
	if want, _ := messages.FR("rule"); rec.Code != 422 || b.Code != "test.no_sentence" || b.Message != want || want == "" {
		t.Fatalf("%d %+v", rec.Code, b)
	}
}

// TestDecisionReasonTooLongSaysTheMaximum: a too-long decision reason is not answered as a missing one.
func TestDecisionReasonTooLongSaysTheMaximum(t *testing.T) {
	tooLong, _ := messages.FR("servicerequest.reason_too_long")
	required, _ := messages.FR("servicerequest.reason_required")
	if !strings.Contains(tooLong, "4 000 caractères") || tooLong == required ||
		servicerequest.MaxReasonLength != 4000 {
		t.Fatalf("reason_too_long %q (maximum %d), reason_required %q", tooLong, servicerequest.MaxReasonLength, required)
	}
}

// TestAbandonedRequestIsNotAnError: a request whose client left ends with its context's error; that is logged as
// an abandoned request, not as a failure (operators alert on "request failed"). A real internal error still is.
func TestAbandonedRequestIsNotAnError(t *testing.T) {
	var logs strings.Builder
	s := newTestServer(t, Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("GET", "/v1/anything", nil).WithContext(ctx)
	s.writeError(httptest.NewRecorder(), r, fmt.Errorf("load: %w", context.Canceled))
	if out := logs.String(); strings.Contains(out, "request failed") || !strings.Contains(out, "request abandoned") {
		t.Fatalf("client gone logged as:\n%s", out)
	}
	logs.Reset()
	s.writeError(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/anything", nil), fmt.Errorf("load: %w", context.Canceled))
	if !strings.Contains(logs.String(), "level=ERROR msg=\"request failed\"") {
		t.Fatalf("an internal cancellation with the client still there logged as:\n%s", logs.String())
	}
}

// TestTimedOutRequestIsUnavailable: a request that ran out of time (its own deadline passed inside the handler, or a
// store call's) is the server being busy, not broken: 503 with Retry-After and the French "unavailable" sentence,
// never 500 internal.
func TestTimedOutRequestIsUnavailable(t *testing.T) {
	var logs strings.Builder
	s := newTestServer(t, Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	for name, r := range map[string]*http.Request{
		"the request's deadline": httptest.NewRequest("POST", "/v1/session", nil).WithContext(ctx),
		"a store call's":         httptest.NewRequest("POST", "/v1/session", nil),
	} {
		w := httptest.NewRecorder()
		s.writeError(w, r, fmt.Errorf("append: %w", context.DeadlineExceeded))
		var body ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || body.Code != "unavailable" ||
			!strings.Contains(body.Message, "indisponible") {
			t.Errorf("%s: %d %q Retry-After %q", name, w.Code, body, w.Header().Get("Retry-After"))
		}
	}
	if out := logs.String(); strings.Contains(out, "request failed") || !strings.Contains(out, "request timed out") {
		t.Fatalf("logged as:\n%s", out)
	}
}
