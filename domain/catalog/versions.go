package catalog

import (
	"slices"
	"sync"
)

// deltas are the published versions after the base (Version2026_1), oldest first, each a change on the one
// before it. Entries are never removed or edited: a decision names the version whose rule it applied, and each
// version's result is pinned by its golden file under testdata. To publish a version, append a Delta here, point
// CurrentVersion to it, and write its golden file (go test ./domain/catalog -run TestGolden -update).
var deltas = []Delta{}

// CurrentVersion is the version that new requests are validated against: the last published one.
const CurrentVersion = Version2026_1

// published builds every version once, at first use. A version that does not build is a programming error in
// this package (the tests load every version), hence the panic.
var published = sync.OnceValue(func() versionChain {
	chain, err := buildChain(Version2026_1, v2026_1, deltas)
	if err != nil {
		panic(err.Error())
	}
	return chain
})

// Current returns the catalogue that new requests are validated against.
func Current() *Catalog { return published().byVersion[CurrentVersion] }

// Load returns the published catalogue of that version, or ErrUnknownVersion.
func Load(version string) (*Catalog, error) {
	c, ok := published().byVersion[version]
	if !ok {
		return nil, ErrUnknownVersion
	}
	return c, nil
}

// Versions returns every published version, oldest first (the order in which they were published).
func Versions() []string { return slices.Clone(published().order) }
