package messaging

import (
	"context"
	"fmt"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
)

// EventLoader reads a stream's history (*kurrentdb.Store implements it): the port through which a mail reaction
// reads the state its mail speaks of.
type EventLoader interface {
	Load(ctx context.Context, stream event.StreamID) ([]event.Envelope, error)
}

// EventOf decodes msg when it is an event of a stream of category; ok is false, and nothing is decoded, for any
// other.
func EventOf(msg *message.Message, category string) (env event.Envelope, ok bool, err error) {
	if !strings.HasPrefix(msg.Metadata.Get(MetaStream), category+"-") {
		return event.Envelope{}, false, nil
	}
	env, err = Envelope(msg)
	if err != nil {
		return event.Envelope{}, false, err
	}
	return env, env.Stream.Category == category, nil
}

// MemberEmail returns the email of member memberID as it stood at position (member.EmailAsOf over the member's
// account stream: later changes do not count, so that a repeat goes where the first copy went); "" when the member
// has none or it is erased.
func MemberEmail(ctx context.Context, store EventLoader, memberID uuid.UUID, position uint64) (string, error) {
	stream := event.NewStreamID(member.Category, memberID)
	history, err := store.Load(ctx, stream)
	if err != nil {
		return "", fmt.Errorf("load %s: %w", stream, err)
	}
	if to := member.EmailAsOf(history, position); to != event.ErasedText {
		return to, nil
	}
	return "", nil
}
