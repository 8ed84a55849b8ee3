package servicerequest_test

import (
	"regexp"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

const pinnedReferenceKey = "8c141771-2902-5066-a9b4-b5d3ef0807ea"

var referenceShape = regexp.MustCompile(`^MSA-2026-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

func TestDeriveReference(t *testing.T) {
	ref := sr.DeriveReference(requestID, 2026, 0)
	if !referenceShape.MatchString(ref) {
		t.Fatalf("reference %q", ref)
	}
	if again := sr.DeriveReference(requestID, 2026, 0); again != ref {
		t.Fatalf("not deterministic: %q then %q", ref, again)
	}
	if next := sr.DeriveReference(requestID, 2026, 1); next == ref || !referenceShape.MatchString(next) {
		t.Fatalf("attempt 1 gives %q (attempt 0 %q)", next, ref)
	}
	seen := map[string]bool{}
	for range 10000 {
		r := sr.DeriveReference(uuid.New(), 2026, 0)
		if !referenceShape.MatchString(r) || seen[r] {
			t.Fatalf("reference %q malformed or repeated", r)
		}
		seen[r] = true
	}
}

func TestNormalizeReference(t *testing.T) {
	ref := sr.DeriveReference(requestID, 2026, 0)
	good := map[string]string{
		ref:                         ref,
		" msa-2026-0abc-defg-hjkm ": "MSA-2026-0ABC-DEFG-HJKM",
		"MSA-2026-OOIL-1234-5678":   "MSA-2026-0011-1234-5678",
	}
	for in, want := range good {
		if got, ok := sr.NormalizeReference(in); !ok || got != want {
			t.Errorf("NormalizeReference(%q) = %q, %t; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "MSA-2026", "MSA-26-0ABC-DEFG-HJKM", "ABC-2026-0ABC-DEFG-HJKM",
		"MSA-2026-0ABC-DEFG-HJKU", "MSA-2026-0ABCDEFG-HJKM-", "MSA-2026-0ABC-DEFG-HJKMN"} {
		if got, ok := sr.NormalizeReference(in); ok {
			t.Errorf("NormalizeReference(%q) = %q, accepted", in, got)
		}
	}
}

func TestStreams(t *testing.T) {
	if s := sr.StreamID(requestID).String(); s != "servicerequest-"+requestID.String() {
		t.Fatalf("stream %q", s)
	}
	ref := sr.DeriveReference(requestID, 2026, 0)
	s := sr.ReferenceStreamID(ref)
	parsed, err := event.ParseStreamID(s.String())
	if err != nil || parsed != s || s.Category != sr.ReferenceCategory || s.ID != sr.ReferenceKey(ref) {
		t.Fatalf("reference stream %v: %v", s, err)
	}
	if sr.ReferenceKey(ref) == sr.ReferenceKey(sr.DeriveReference(requestID, 2026, 1)) {
		t.Fatal("two references share a stream")
	}
	// The namespace is part of the stored stream names: pin it.
	if got := sr.ReferenceKey("MSA-2026-0000-0000-0000").String(); got != pinnedReferenceKey {
		t.Fatalf("ReferenceKey changed: %s", got)
	}
}

// TestDeriveReferencePinned pins the derivation: a retried submission must derive the reference it derived before.
func TestDeriveReferencePinned(t *testing.T) {
	if got := sr.DeriveReference(requestID, 2026, 0); got != "MSA-2026-QCEC-G7FP-JY2M" {
		t.Fatalf("DeriveReference changed: %s", got)
	}
}
