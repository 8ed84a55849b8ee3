package event_test

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/event/eventtest"
	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

// A typical event with personal data: a request as submitted, with its form.
var benchSubmitted = sr.Submitted{
	MemberID: uuid.MustParse("5b8f2f0e-7d1c-4f55-9a55-1f0c8f0b6f2a"), ServiceCode: "complementaire-sante-solidaire",
	CatalogVersion: "2026.1", CommandID: uuid.MustParse("d2c1b0a9-8f7e-4d6c-9b5a-493827161504"),
	Form: json.RawMessage(`{"household_situation":"couple","household_size":3,"resources_12_months":1420000,` +
		`"housing":"tenant","managing_body":"msa","sworn_statement":true}`),
}

func benchRegistries(b *testing.B) map[string]*event.Registry {
	reg, err := event.NewRegistry(sr.Definitions())
	if err != nil {
		b.Fatal(err)
	}
	return map[string]*event.Registry{"clear": reg, "sealed": reg.WithSealer(eventtest.NewMemorySealer())}
}

// BenchmarkSubmittedEncode is Registry.NewRecord of a Submitted, without a sealer ("clear", as before sealing) and
// with a MemorySealer ("sealed": split, AES-256-GCM, base64).
func BenchmarkSubmittedEncode(b *testing.B) {
	for _, mode := range []string{"clear", "sealed"} {
		reg := benchRegistries(b)[mode]
		b.Run(mode, func(b *testing.B) {
			meta := sampleMetadata()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.NewRecord(sampleStream, meta, 0, benchSubmitted); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSubmittedDecode is Registry.Open of a stored Submitted: what every load and every projection rebuild
// does per event.
func BenchmarkSubmittedDecode(b *testing.B) {
	for _, mode := range []string{"clear", "sealed"} {
		reg := benchRegistries(b)[mode]
		rec, err := reg.NewRecord(sampleStream, sampleMetadata(), 0, benchSubmitted)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := reg.Open(rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
