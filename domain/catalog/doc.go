// Package catalog is the fund's catalogue of online services as versioned data: for each service of "Mon espace
// privé" its stable code, French label, group, kind and, for the services that open a case (KindRequest), the form
// and its validation, the caseworker queue, the target handling time, the legal silence rule (what the absence of
// a decision means, and after how long: CRPA L231-1 / L231-4), the appeal routes and the supporting documents
// expected.
//
// The catalogue is data, not behaviour found by reflection: each published version is a function building a
// Catalog, kept in a table by version string (see Load), so that a decision can name the catalogue version whose
// rule it applied and an old version stays loadable for as long as a case refers to it. A published version is
// never edited: a change is a new version (new entry in the versions table, Current pointing to it), and its ETag
// changes with its content.
//
// Rules the notes mark as interpretations ([~] in domain-notes.md) are kept as data and marked [~] in comments and
// with SilenceRule.Uncertain, so that a lawyer can review them without reading code.
package catalog
