package conversationmail

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/conversation"
)

// TestTheMailSaysAReplyWaitsAndNothingElse: the theme's label and where to read the reply; never the subject, the
// member's message nor the reply.
func TestTheMailSaysAReplyWaitsAndNothingElse(t *testing.T) {
	at := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	c := conversation.State{}.Apply(conversation.Started{ConversationID: uuid.New(), MemberID: uuid.New(),
		Theme: "retraite", Queue: "retraite", Subject: "Date de départ", MessageID: uuid.New(),
		Body: "Mon relevé de carrière est faux", CatalogVersion: "2026.1"}, at).
		Apply(conversation.StaffReplied{MessageID: uuid.New(), Body: "Nous corrigeons votre trimestre 2019"}, at)
	got := text(c)
	if !strings.Contains(got, "« Ma retraite »") || !strings.Contains(got, "espace privé") {
		t.Errorf("mail:\n%s", got)
	}
	for _, personal := range []string{"Date de départ", "relevé de carrière", "trimestre 2019"} {
		if strings.Contains(got, personal) || strings.Contains(Subject, personal) {
			t.Errorf("the mail holds %q", personal)
		}
	}
}
