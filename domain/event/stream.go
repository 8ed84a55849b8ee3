package event

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// ErrInvalidStreamID is returned for stream names that do not follow "<category>-<uuid>".
var ErrInvalidStreamID = errors.New("invalid stream id")

// StreamID names the stream of one aggregate instance: "<category>-<uuid>", such as
// "member-7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11". Categories are lower-case letters and digits, with no dash, so the
// first dash always separates category from id.
type StreamID struct {
	Category string
	ID       uuid.UUID
}

// NewStreamID returns the stream id of instance id in category.
func NewStreamID(category string, id uuid.UUID) StreamID { return StreamID{Category: category, ID: id} }

// String returns the stream name as stored.
func (s StreamID) String() string { return s.Category + "-" + s.ID.String() }

// IsZero reports whether s is the zero StreamID.
func (s StreamID) IsZero() bool { return s == StreamID{} }

// Validate reports whether s names a stream: a valid category and a non-nil id.
func (s StreamID) Validate() error {
	if !validCategory(s.Category) {
		return fmt.Errorf("%w: category %q must be lower-case letters and digits, starting with a letter", ErrInvalidStreamID, s.Category)
	}
	if s.ID == uuid.Nil {
		return fmt.Errorf("%w: nil id in category %q", ErrInvalidStreamID, s.Category)
	}
	return nil
}

// ParseStreamID parses a stream name. The id must be a UUID in canonical form (lower-case, with dashes), so that one
// aggregate instance has exactly one stream name.
func ParseStreamID(name string) (StreamID, error) {
	category, rest, ok := strings.Cut(name, "-")
	if !ok {
		return StreamID{}, fmt.Errorf("%w: %q has no dash", ErrInvalidStreamID, name)
	}
	id, err := uuid.Parse(rest)
	if err != nil || id.String() != rest {
		return StreamID{}, fmt.Errorf("%w: %q does not end with a canonical uuid", ErrInvalidStreamID, name)
	}
	s := StreamID{Category: category, ID: id}
	if err := s.Validate(); err != nil {
		return StreamID{}, err
	}
	return s, nil
}

func validCategory(c string) bool {
	if c == "" || c[0] < 'a' || c[0] > 'z' {
		return false
	}
	for i := 0; i < len(c); i++ {
		if (c[i] < 'a' || c[i] > 'z') && (c[i] < '0' || c[i] > '9') {
			return false
		}
	}
	return true
}
