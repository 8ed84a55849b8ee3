// Package auditlog keeps the tamper evidence of the event log: a Merkle tree over every event in commit order, its
// signed tree heads, inclusion and consistency proofs, and the bundles an auditor verifies offline.
//
// The tree is golang.org/x/mod/sumdb/tlog's (RFC 6962 hashing: a leaf is SHA-256(0x00 || data), a node
// SHA-256(0x01 || left || right)); leaf n is the n-th non-system event of $all in commit order, and its data is
// Leaf.Encode. A signed tree head is a golang.org/x/mod/sumdb/note note signed with Ed25519 (see head.go).
package auditlog

import (
	"encoding/binary"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/msa-dossier/dossier/domain/event"
)

// Leaf is an event as the store holds it: its identity and its stored bytes (sealed personal fields stay sealed, so
// erasing a key never changes a leaf). The histories export it as is (the "stored" member of each JSON line) and the
// tree hashes exactly these fields, so an exported line can be checked against a signed tree head without a server.
type Leaf struct {
	Commit   uint64    `json:"commit,string"`
	Prepare  uint64    `json:"prepare,string"`
	Stream   string    `json:"stream"`
	Revision uint64    `json:"revision"`
	ID       uuid.UUID `json:"id"`
	Type     string    `json:"type"`
	Data     []byte    `json:"data"`
	Metadata []byte    `json:"metadata"`
}

// LeafOf returns the leaf of a stored record. A record whose source did not report a prepare position gets its
// commit position (they are equal on the embedded node and for KurrentDB's appends).
func LeafOf(r event.Record) Leaf {
	prepare := r.Prepare
	if prepare == 0 {
		prepare = r.Position
	}
	return Leaf{Commit: r.Position, Prepare: prepare, Stream: r.Stream, Revision: r.Revision, ID: r.EventID,
		Type: r.Type, Data: r.Data, Metadata: r.Metadata}
}

// leafDomain starts every encoded leaf: it names the encoding, so a later one cannot be mistaken for it.
const leafDomain = "dossier-audit-leaf-v1\n"

// Encode returns the canonical bytes of the leaf, the data its tree hash covers. Every field is there, in this
// order, integers as unsigned big-endian and variable-length fields prefixed by their length (so no two leaves
// encode alike):
//
//	"dossier-audit-leaf-v1\n" (22 bytes)
//	commit u64 | prepare u64
//	len(stream) u32 | stream (UTF-8)
//	revision u64
//	id [16]byte (the UUID's bytes)
//	len(type) u32 | type (UTF-8)
//	len(data) u32 | data (the JSON payload as stored, sealed fields included)
//	len(metadata) u32 | metadata (the JSON metadata as stored)
//
// Its hash (Hash) is tlog.RecordHash(Encode()): SHA-256 of a zero byte followed by these bytes.
func (l Leaf) Encode() []byte {
	b := make([]byte, 0, len(leafDomain)+8+8+4+len(l.Stream)+8+16+4+len(l.Type)+4+len(l.Data)+4+len(l.Metadata))
	b = append(b, leafDomain...)
	b = binary.BigEndian.AppendUint64(b, l.Commit)
	b = binary.BigEndian.AppendUint64(b, l.Prepare)
	b = appendField(b, []byte(l.Stream))
	b = binary.BigEndian.AppendUint64(b, l.Revision)
	b = append(b, l.ID[:]...)
	b = appendField(b, []byte(l.Type))
	b = appendField(b, l.Data)
	b = appendField(b, l.Metadata)
	return b
}

func appendField(b, field []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(field)))
	return append(b, field...)
}

// Hash returns the leaf's hash in the tree.
func (l Leaf) Hash() tlog.Hash { return tlog.RecordHash(l.Encode()) }
