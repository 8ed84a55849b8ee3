package acceptance

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/filecheck/filechecktest"
	"github.com/msa-dossier/dossier/adapters/letters/letterstest"
	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// TestInboxDecisionLetter drives the real binary: a caseworker rejects Alice's request; its decision letter appears
// in her inbox (unread), a mail tells her without its content; the PDF she downloads (real type, nosniff,
// attachment) parses and says the decision, its reason and the appeal deadline; her first opening is recorded once
// (a second opening changes nothing); Bob neither lists, reads nor downloads it. On SQLite and on PostgreSQL.
func TestInboxDecisionLetter(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		var args []string
		if tg.Dialect == sqldb.Postgres {
			args = []string{"--postgres-url", tg.DSN}
		}
		inboxStory(t, startMemberEnv(t, args...))
	})
}

func inboxStory(t *testing.T, e *memberEnv) {
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin, map[string]any{"queues": []string{"sante-c2s"}}), "assign queue")
	ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}), "submit")
	reqID, reference := ack.str("request_id"), ack.str("reference")
	e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID, claire, nil, "X-Dossier-Min-Position", ack.header.Get("X-Dossier-Position")), "case visible")
	e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/claim", claire, nil), "claim")
	decided := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/decision", claire,
		map[string]any{"approved": false, "reason": "Ressources supérieures au plafond."}), "reject")
	e.waitReaction(t, "inbox.decision-letter", decided.str("position"))

	var list response
	deadline := time.Now().Add(20 * time.Second)
	for {
		list = e.must(t, 200, e.call(t, "GET", "/v1/documents", alice, nil), "alice's inbox")
		if docs, _ := list.body["documents"].([]any); len(docs) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	docs, _ := list.body["documents"].([]any)
	if len(docs) != 1 || list.body["unread"] != float64(1) {
		t.Fatalf("alice's inbox: %s", list.raw)
	}
	doc := docs[0].(map[string]any)
	id, _ := doc["id"].(string)
	if doc["kind"] != "decision_letter" || doc["opened_at"] != nil || doc["notified_at"] != nil ||
		!strings.Contains(doc["title"].(string), reference) || doc["content_type"] != "application/pdf" {
		t.Fatalf("the letter in the inbox: %v", doc)
	}
	// Before its first opening the appeal is pending, and says when the letter was made available.
	pending := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+reqID, alice, nil), "alice's request before opening")
	if d, _ := pending.body["decision"].(map[string]any); d == nil {
		t.Fatalf("alice's request: %s", pending.raw)
	} else if a, _ := d["appeal"].(map[string]any); a == nil || a["notification"] != "pending" || a["notified_at"] != nil ||
		a["cra_deadline_on"] != nil || a["letter_available_at"] != doc["published_at"] || a["deemed_notified_at"] != doc["deemed_notified_at"] {
		t.Fatalf("the appeal before the letter is opened: %v (letter %v)", a, doc)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs, err := e.smtp.WaitMatch(ctx, 1, func(m smtptest.Message) bool {
		return smtptest.To("alice@example.test")(m) && strings.Contains(m.Subject, "nouveau document")
	})
	if err != nil {
		t.Fatalf("new-document mail: %v", err)
	}
	if m := msgs[0]; strings.Contains(m.Text, "plafond") || strings.Contains(m.Text, reference) {
		t.Errorf("the new-document mail tells the content:\n%s", m.Text)
	}

	// Bob sees nothing of it.
	if r := e.must(t, 200, e.call(t, "GET", "/v1/documents", bob, nil), "bob's inbox"); strings.Contains(string(r.raw), id) {
		t.Fatalf("bob's inbox lists alice's letter: %s", r.raw)
	}
	for _, path := range []string{"/v1/documents/" + id, "/v1/documents/" + id + "/content"} {
		if r := e.call(t, "GET", path, bob, nil); r.status != 404 || r.str("code") != "inbox.document_not_found" {
			t.Fatalf("bob GET %s: %d %s", path, r.status, r.raw)
		}
	}

	// Alice opens it: the PDF, recorded as her first opening.
	first := e.must(t, 200, e.call(t, "GET", "/v1/documents/"+id+"/content", alice, nil), "open")
	if h := first.header; h.Get("Content-Type") != "application/pdf" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
		t.Fatalf("content headers: %v", h)
	}
	text := letterstest.Flat(t, first.raw)
	for _, want := range []string{"votre demande est REJETÉE", "Ressources supérieures au plafond.", reference,
		"Claire Dupont", "dans un délai de 2 mois à compter de sa notification", "au plus tard"} {
		if !strings.Contains(text, want) {
			t.Errorf("the letter does not say %q:\n%s", want, text)
		}
	}
	opened := e.must(t, 200, e.call(t, "GET", "/v1/documents/"+id, alice, nil, "X-Dossier-Min-Position", first.header.Get("X-Dossier-Position")), "after opening")
	openedAt := opened.str("opened_at")
	if openedAt == "" || opened.str("notified_at") != openedAt || opened.body["deemed_notified"] != false {
		t.Fatalf("after the first opening: %s", opened.raw)
	}
	// The request's appeal now runs from that first opening (pending before it: TestRejectionShowsAppealRoutesAndAuthor).
	openedTime, err := time.Parse(time.RFC3339Nano, openedAt)
	if err != nil {
		t.Fatal(err)
	}
	mine := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+reqID, alice, nil), "alice's request after opening")
	assertAppealFrom(t, mine.body, openedTime, "opened")
	rows, _ := e.must(t, 200, e.call(t, "GET", "/v1/requests", alice, nil), "alice's requests after opening").body["requests"].([]any)
	if len(rows) != 1 {
		t.Fatalf("alice's requests: %v", rows)
	}
	assertAppealFrom(t, rows[0].(map[string]any), openedTime, "opened")
	time.Sleep(1100 * time.Millisecond)
	second := e.must(t, 200, e.call(t, "GET", "/v1/documents/"+id+"/content", alice, nil), "open again")
	again := e.must(t, 200, e.call(t, "GET", "/v1/documents", alice, nil, "X-Dossier-Min-Position", second.header.Get("X-Dossier-Position")), "inbox again")
	if d := again.body["documents"].([]any)[0].(map[string]any); d["opened_at"] != openedAt || again.body["unread"] != float64(0) {
		t.Fatalf("after a second opening: %s (first opened at %s)", again.raw, openedAt)
	}

	// A document of the fund's other systems, published by the operator command: newest first, unread, its bytes
	// as given; publishing it again records nothing; a renamed non-PDF is refused.
	aliceID := e.must(t, 200, e.call(t, "GET", "/v1/me", alice, nil), "alice's account").str("member_id")
	releve := filechecktest.PDF("Releve annuel 2026")
	file := filepath.Join(e.srv.cmd.Dir, "releve.pdf")
	if err := os.WriteFile(file, releve, 0o600); err != nil {
		t.Fatal(err)
	}
	out := e.admin(t, nil, "admin", "publish-document", "--member", aliceID, "--file", file, "--title", "Relevé annuel 2026")
	if !strings.HasPrefix(out, "published: ") {
		t.Fatalf("publish-document: %s", out)
	}
	if out := e.admin(t, nil, "admin", "publish-document", "--member", aliceID, "--file", file, "--title", "Relevé annuel 2026"); !strings.HasPrefix(out, "already published: ") {
		t.Fatalf("publish-document again: %s", out)
	}
	extID := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(out, "\n", 2)[0], "published: "))
	var two response
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		two = e.must(t, 200, e.call(t, "GET", "/v1/documents?limit=1", alice, nil), "alice's inbox, page 1")
		if d, _ := two.body["documents"].([]any); (len(d) == 1 && d[0].(map[string]any)["id"] == extID) || time.Now().After(deadline) {
			break
		}
	}
	if d, _ := two.body["documents"].([]any); len(d) != 1 || d[0].(map[string]any)["id"] != extID ||
		d[0].(map[string]any)["kind"] != "external" || two.body["unread"] != float64(1) || two.body["next"] == nil {
		t.Fatalf("the inbox after publish-document: %s", two.raw)
	}
	got := e.must(t, 200, e.call(t, "GET", "/v1/documents/"+extID+"/content", alice, nil), "open the published document")
	if !bytes.Equal(got.raw, releve) {
		t.Errorf("the published document's content differs from the file")
	}
}
