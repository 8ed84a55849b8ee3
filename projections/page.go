package projections

import (
	"encoding/base64"
	"strings"

	"github.com/msa-dossier/dossier/domain/failure"
)

// Keyset paging of the list queries: the one convention every list of the HTTP API follows (docs/architecture.md,
// "The API contract"). A query takes a Page, reads Limit+1 rows in its fixed order after the row the cursor names,
// and returns at most Limit of them with the cursor of the next page ("" at the end). A cursor is the sort key of the
// last row of a page, opaque to clients (base64url); it stays valid whatever is written meanwhile (rows inserted
// before it are not seen, none is seen twice).

// Page asks a list query for at most Limit rows after the row whose cursor is After ("": from the first row).
type Page struct {
	Limit int
	After string
}

// ErrInvalidCursor is a cursor no list query gave: not base64url, the wrong number of parts, or parts of the wrong
// type for the list's key.
var ErrInvalidCursor = failure.New(failure.Invalid, "page.invalid_cursor", "invalid page cursor")

// cursorSep separates the parts of a key inside a cursor (a unit separator: in none of the keys' values).
const cursorSep = "\x1f"

// EncodeCursor returns the cursor of a row whose sort key is key.
func EncodeCursor(key ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(key, cursorSep)))
}

// DecodeCursor returns the n parts of a cursor's key, or ErrInvalidCursor.
func DecodeCursor(cursor string, n int) ([]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, ErrInvalidCursor
	}
	parts := strings.Split(string(b), cursorSep)
	if len(parts) != n {
		return nil, ErrInvalidCursor
	}
	return parts, nil
}

// Limit1 returns the number of rows a query reads for p: one more than the page, to know whether a next page exists.
// A Limit below 1 reads def rows (the HTTP layer refuses such limits before; this keeps direct callers safe).
func (p Page) Limit1(def int) int {
	if p.Limit < 1 {
		return def + 1
	}
	return p.Limit + 1
}

// Trim cuts rows (read with Limit1) to the page and returns the cursor of the next page: key of the last row kept,
// or "" when rows held no more than the page.
func Trim[T any](rows []T, p Page, def int, key func(T) string) ([]T, string) {
	limit := p.Limit1(def) - 1
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, key(rows[limit-1])
}
