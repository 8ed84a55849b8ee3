package projections

import (
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/domain/member"
)

// Erase returns what a personal text of a member whose data was erased reads as: event.ErasedText, or "" for a
// text that was empty (nothing was there to erase). A projection writes it over every personal column of the
// member's rows when it folds member.DataErased, so that the API shows "données effacées" at once, as a rebuild
// after the keys are destroyed does (it decodes event.ErasedText from the events themselves).
func Erase(text string) string {
	if text == "" {
		return ""
	}
	return event.ErasedText
}

// EraseAll returns texts with each one erased (see Erase), in a new slice; nil for nil.
func EraseAll(texts []string) []string {
	if texts == nil {
		return nil
	}
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = Erase(t)
	}
	return out
}

// EachErasedMember calls erase, in batch order, with the id of each member whose data the batch erases (a
// member.DataErased in a member stream), and stops at its first error: how a projection that keeps a member's
// personal texts in rows of other streams (the member's requests, say) finds the rows to erase (see Erase).
func EachErasedMember(batch []event.Envelope, erase func(memberID uuid.UUID) error) error {
	for _, e := range batch {
		if _, ok := e.Event.(member.DataErased); ok && e.Stream.Category == member.Category {
			if err := erase(e.Stream.ID); err != nil {
				return err
			}
		}
	}
	return nil
}
