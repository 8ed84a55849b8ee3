package kurrentnode

import (
	"encoding/json"
	"math"
	"strings"
	"time"
)

const (
	metaPrefix        = "$$"
	metadataEventType = "$metadata"
	tombstoneType     = "$streamDeleted"
	// deletedRevision is KurrentDB's EventNumber.DeletedStream: `$tb` set to it marks a soft-deleted stream and
	// the tombstone record carries it as its revision.
	deletedRevision = math.MaxInt64
)

// streamMeta is the part of a stream's metadata the node enforces on stream reads and subscriptions.
// `$acl` and `$cacheControl` are kept verbatim in the metastream but have no effect (no auth, no HTTP API).
type streamMeta struct {
	maxCount int64         // 0: unlimited
	maxAge   time.Duration // 0: unlimited
	tb       int64         // truncate-before revision; -1: none
}

var noMeta = streamMeta{tb: -1}

// parseMeta reads the keys the node enforces. Metadata that is not JSON or does not parse counts as empty,
// as in KurrentDB.
func parseMeta(isJSON bool, data []byte) streamMeta {
	m := noMeta
	if !isJSON {
		return m
	}
	var raw struct {
		MaxCount *float64 `json:"$maxCount"`
		MaxAge   *float64 `json:"$maxAge"`
		TB       *float64 `json:"$tb"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return m
	}
	if raw.MaxCount != nil && *raw.MaxCount > 0 {
		m.maxCount = int64(*raw.MaxCount)
	}
	if raw.MaxAge != nil && *raw.MaxAge > 0 {
		m.maxAge = time.Duration(*raw.MaxAge * float64(time.Second))
	}
	if raw.TB != nil && *raw.TB >= 0 {
		if *raw.TB >= math.MaxInt64 {
			m.tb = deletedRevision
		} else {
			m.tb = int64(*raw.TB)
		}
	}
	return m
}

// withTruncateBefore returns raw metadata with `$tb` replaced and every other key kept: what KurrentDB writes
// when a soft-deleted stream is written to again.
func withTruncateBefore(raw []byte, tb int64) []byte {
	fields := map[string]json.RawMessage{}
	_ = json.Unmarshal(raw, &fields) // unparsable metadata is empty metadata
	b, _ := json.Marshal(tb)
	fields["$tb"] = b
	out, _ := json.Marshal(fields)
	return out
}

func isMetastream(stream string) bool { return strings.HasPrefix(stream, metaPrefix) }
