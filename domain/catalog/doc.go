// Package catalog is the fund's catalogue of online services as versioned data: for each service of "Mon espace
// privé" its stable code, French label, group, kind and, for the services that open a case (KindRequest), the form
// and its validation, the caseworker queue, the target handling time, the legal silence rule (what the absence of
// a decision means, and after how long: CRPA L231-1 / L231-4), the appeal routes and the supporting documents
// expected.
//
// The catalogue is data, not behaviour found by reflection: the first version (2026.1) is written out whole, and
// every later one is a Delta, a list of typed changes (SetHandlingDays, SetSilence, RouteToQueue, AddService,
// RetireService…) applied to a deep copy of the version before it (see deltas). Every version stays loadable by
// its version string (see Load), so that a decision can name the catalogue version whose rule it applied and an
// old version serves for as long as a case refers to it. A published version is never edited: its built result is
// pinned by a golden file (testdata/catalog-<version>.json), a change is a new Delta with CurrentVersion pointing
// to it, and the ETag changes with the content.
//
// Rules that are our interpretation rather than a text we could cite (the decree listing a silence exception, a
// handling time the fund publishes nowhere) are kept as data and marked [~] in comments and with
// SilenceRule.Uncertain, so that a lawyer can review them without reading code.
package catalog
