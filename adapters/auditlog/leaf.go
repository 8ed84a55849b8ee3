// Package auditlog keeps the tamper evidence of the event log: a Merkle tree over every event in commit order, its
// signed tree heads, inclusion and consistency proofs, and the bundles an auditor verifies offline.
package auditlog

import "github.com/google/uuid"

// Leaf is an event as the store holds it: its identity and its stored bytes (sealed personal fields stay sealed, so
// erasing a key never changes a leaf). The histories export it as is (the "stored" member of each JSON line) and the
// tree hashes exactly these fields, so an exported line can be checked against a signed tree head without a server.
type Leaf struct {
	Commit   uint64    `json:"commit"`
	Prepare  uint64    `json:"prepare"`
	Stream   string    `json:"stream"`
	Revision uint64    `json:"revision"`
	ID       uuid.UUID `json:"id"`
	Type     string    `json:"type"`
	Data     []byte    `json:"data"`
	Metadata []byte    `json:"metadata"`
}
