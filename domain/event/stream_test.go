package event_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
)

func TestParseStreamID(t *testing.T) {
	id := uuid.MustParse("7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11")
	good := []struct {
		in   string
		want event.StreamID
	}{
		{"member-7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11", event.NewStreamID("member", id)},
		{"servicerequest-7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11", event.NewStreamID("servicerequest", id)},
		{"v2staff-7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11", event.NewStreamID("v2staff", id)},
	}
	for _, tt := range good {
		got, err := event.ParseStreamID(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseStreamID(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("round trip %q -> %q", tt.in, got.String())
		}
	}
	bad := []string{
		"",
		"member",
		"member-",
		"-7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11",
		"Member-7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11",          // upper-case category
		"1member-7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11",         // starts with a digit
		"service_request-7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11", // underscore
		"$$member-7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11",        // metastream
		"member-7F0C3A52-9A43-4A8E-8D0A-3F1E7E1B5C11",          // non-canonical uuid
		"member-7f0c3a529a434a8e8d0a3f1e7e1b5c11",              // no dashes in uuid
		"member-{7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11}",        // braces
		"member-urn:uuid:7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11", // urn form
		"member-00000000-0000-0000-0000-000000000000",          // nil id
		"member-7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11-extra",    // trailing text
		"service-request-7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11", // dash in category
	}
	for _, in := range bad {
		if got, err := event.ParseStreamID(in); !errors.Is(err, event.ErrInvalidStreamID) {
			t.Errorf("ParseStreamID(%q) = %v, %v; want ErrInvalidStreamID", in, got, err)
		}
	}
}

func TestStreamIDValidate(t *testing.T) {
	if err := event.NewStreamID("member", uuid.New()).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []event.StreamID{{}, {Category: "member"}, {Category: "a-b", ID: uuid.New()}, {ID: uuid.New()}} {
		if err := s.Validate(); !errors.Is(err, event.ErrInvalidStreamID) {
			t.Errorf("%+v: Validate = %v", s, err)
		}
	}
	if !(event.StreamID{}).IsZero() || event.NewStreamID("member", uuid.New()).IsZero() {
		t.Fatal("IsZero")
	}
}
