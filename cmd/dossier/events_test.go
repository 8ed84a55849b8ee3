package main

import (
	"testing"

	"github.com/msa-dossier/dossier/domain/event"
)

// TestEventFieldsClassified fails when a field of an event the binary stores holds text (a string, a list, a map,
// a struct, raw JSON) without saying whether it is personal data (`personal:"yes"`: sealed under its subject's key,
// erasable) or not (`personal:"no"`). A new event, or a new field, must be classified before it ships.
func TestEventFieldsClassified(t *testing.T) {
	if err := event.CheckClassification(eventDefinitions()...); err != nil {
		t.Fatalf("unclassified event fields (add `personal:\"yes\"` or `personal:\"no\"`):\n%v", err)
	}
	if _, err := event.NewRegistry(eventDefinitions()...); err != nil {
		t.Fatal(err)
	}
}
