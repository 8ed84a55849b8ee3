package acceptance

import (
	"strings"
	"testing"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// TestConversationStory ("Nous envoyer un message"): a member writes on a theme; the conversation is in the theme's
// queue with a reply due date; a caseworker of that queue claims it (a stale If-Match is refused), reads it (the
// member's message read once), adds a note (staff only) and replies; the member is told by mail (without the
// reply), reads the reply (receipt recorded once, however often they read) and answers (the wait starts again);
// the caseworker closes; the member can no longer write. Another member can neither read nor write on it; a
// caseworker of another queue cannot see it; bad inputs are refused with their codes and record nothing.
// On both read-model databases: the lists and the queue counts come from a projection.
func TestConversationStory(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		var args []string
		if tg.Dialect == sqldb.Postgres {
			args = append(args, "--postgres-url", tg.DSN)
		}
		conversationStory(t, startMemberEnv(t, args...))
	})
}

func conversationStory(t *testing.T, e *memberEnv) {
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	outsider, outsiderID := e.staffMember(t, "o.petit", "Odile Petit", "caseworker")
	auditor, _ := e.staffMember(t, "v.roux", "Victor Roux", "auditor")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin, map[string]any{"queues": []string{"retraite"}}), "assign claire")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+outsiderID+"/queues", admin, map[string]any{"queues": []string{"sante-c2s"}}), "assign the outsider")

	// Bad input: refused with its code, nothing recorded.
	bad := []struct {
		body        map[string]any
		code, field string
	}{
		{map[string]any{"theme": "meteo", "subject": "x", "body": "x"}, "conversation.theme_unknown", "theme"},
		{map[string]any{"theme": "retraite", "subject": "x", "body": strings.Repeat("é", 5001)}, "conversation.body_invalid", "body"},
		{map[string]any{"theme": "retraite", "subject": "", "body": "x"}, "conversation.subject_invalid", "subject"},
		{map[string]any{"theme": "retraite", "subject": "x", "body": "x", "request_id": "7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11"}, "conversation.request_unknown", "request_id"},
	}
	for _, b := range bad {
		r := e.call(t, "POST", "/v1/conversations", alice, b.body)
		if r.status != 422 || r.str("code") != b.code || r.str("field") != b.field || r.str("message") == "" {
			t.Errorf("%v: %d %s", b.body, r.status, r.raw)
		}
	}
	// A conversation about one of the member's own requests; another member's request is refused.
	req := e.must(t, 201, e.call(t, "POST", "/v1/requests", bob, map[string]any{"service": "accident-travail-non-salarie",
		"form": sampleForm(t, "accident-travail-non-salarie")}), "bob's request").str("request_id")
	if r := e.call(t, "POST", "/v1/conversations", alice, map[string]any{"theme": "retraite", "subject": "x", "body": "x", "request_id": req}); r.status != 422 || r.str("code") != "conversation.request_unknown" {
		t.Errorf("alice names bob's request: %d %s", r.status, r.raw)
	}
	linked := e.must(t, 201, e.call(t, "POST", "/v1/conversations", bob, map[string]any{"theme": "affiliation", "subject": "Ma déclaration",
		"body": "Une question sur ma demande.", "request_id": req}), "bob names his request")
	bobs := e.must(t, 200, e.call(t, "GET", "/v1/conversations/"+linked.str("id"), bob, nil), "bob reads his").body
	if bobs["request_id"] != req || bobs["theme_label"] == "" || bobs["queue"] != "pro-affiliation" {
		t.Errorf("linked conversation: %v", bobs)
	}
	// 5000 characters exactly (10000 bytes) is accepted: counted in characters.
	long := e.must(t, 201, e.call(t, "POST", "/v1/conversations", bob, map[string]any{"theme": "sante", "subject": "Carte Vitale",
		"body": strings.Repeat("é", 5000)}), "bob's long message")

	started := e.must(t, 201, e.call(t, "POST", "/v1/conversations", alice, map[string]any{"theme": "retraite",
		"subject": "Date de départ", "body": "Bonjour,\nà quelle date puis-je partir ?"}, "Idempotency-Key", "0d6f1c2a-3b4c-4d5e-8f70-8192a3b4c5d6"), "start")
	id, pos := started.str("id"), started.header.Get("X-Dossier-Position")
	again := e.must(t, 201, e.call(t, "POST", "/v1/conversations", alice, map[string]any{"theme": "retraite",
		"subject": "Date de départ", "body": "Bonjour,\nà quelle date puis-je partir ?"}, "Idempotency-Key", "0d6f1c2a-3b4c-4d5e-8f70-8192a3b4c5d6"), "retry")
	if again.str("id") != id {
		t.Fatalf("a retry started another conversation: %s, %s", again.str("id"), id)
	}
	list := e.must(t, 200, e.call(t, "GET", "/v1/conversations", alice, nil, "X-Dossier-Min-Position", pos), "alice's list")
	convs, _ := list.body["conversations"].([]any)
	if len(convs) != 1 || convs[0].(map[string]any)["id"] != id || convs[0].(map[string]any)["status"] != "awaiting_reply" ||
		convs[0].(map[string]any)["reply_due_at"] == nil || convs[0].(map[string]any)["subject"] != "Date de départ" {
		t.Fatalf("alice's conversations (bad inputs recorded nothing): %s", list.raw)
	}

	// Bob cannot read nor write on it; the outsider does not see it.
	if r := e.call(t, "GET", "/v1/conversations/"+id, bob, nil); r.status != 404 || r.str("code") != "conversation.not_found" {
		t.Errorf("bob reads alice's: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/v1/conversations/"+id+"/messages", bob, map[string]any{"body": "coucou"}); r.status != 404 || r.str("code") != "conversation.not_found" {
		t.Errorf("bob writes on alice's: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/v1/conversations/not-a-uuid", alice, nil); r.status != 400 || r.str("code") != "request.invalid_id" {
		t.Errorf("malformed id: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/v1/staff/conversations/"+id, outsider, nil); r.status != 403 {
		t.Errorf("outsider reads: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/v1/staff/conversations/"+id+"/claim", outsider, nil); r.status != 403 {
		t.Errorf("outsider claims: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/v1/queues/retraite/conversations", outsider, nil); r.status != 403 {
		t.Errorf("outsider lists retraite: %d %s", r.status, r.raw)
	}

	// Claire's queue lists it, with its due date; the counts see it.
	queue := e.must(t, 200, e.call(t, "GET", "/v1/queues/retraite/conversations", claire, nil, "X-Dossier-Min-Position", long.header.Get("X-Dossier-Position")), "claire's queue")
	qs, _ := queue.body["conversations"].([]any)
	if len(qs) != 1 || qs[0].(map[string]any)["id"] != id || qs[0].(map[string]any)["reply_due_at"] == nil {
		t.Fatalf("retraite queue: %s", queue.raw)
	}
	counts := e.must(t, 200, e.call(t, "GET", "/v1/conversation-queues", claire, nil), "counts")
	if qs, _ := counts.body["queues"].([]any); len(qs) != 1 || qs[0].(map[string]any)["awaiting_reply"] != float64(1) ||
		qs[0].(map[string]any)["unclaimed"] != float64(1) {
		t.Errorf("claire's counts: %s", counts.raw)
	}

	// An auditor reads it and records no receipt (counted below).
	audited := e.must(t, 200, e.call(t, "GET", "/v1/staff/conversations/"+id, auditor, nil), "auditor reads")
	if msgs, _ := audited.body["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["read_at"] != nil {
		t.Errorf("auditor's reading: %s", audited.raw)
	}
	if r := e.call(t, "POST", "/v1/staff/conversations/"+id+"/claim", auditor, nil); r.status != 403 {
		t.Errorf("auditor claims: %d %s", r.status, r.raw)
	}
	// Claim with If-Match; a stale ETag is refused and records nothing.
	read := e.must(t, 200, e.call(t, "GET", "/v1/staff/conversations/"+id, claire, nil), "claire reads")
	etag := read.header.Get("ETag")
	msgs, _ := read.body["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["read_at"] == nil || etag == "" {
		t.Fatalf("claire's reading (member's message read): %s %q", read.raw, etag)
	}
	claimed := e.must(t, 200, e.call(t, "POST", "/v1/staff/conversations/"+id+"/claim", claire, nil, "If-Match", etag), "claim")
	if r := e.call(t, "POST", "/v1/staff/conversations/"+id+"/notes", claire, map[string]any{"text": "Vérifier la carrière"}, "If-Match", etag); r.status != 409 {
		t.Errorf("stale If-Match: %d %s", r.status, r.raw)
	}
	etag = claimed.header.Get("ETag")
	noted := e.must(t, 200, e.call(t, "POST", "/v1/staff/conversations/"+id+"/notes", claire, map[string]any{"text": "Vérifier la carrière"}, "If-Match", etag), "note")
	if r := e.call(t, "POST", "/v1/staff/conversations/"+id+"/replies", claire, map[string]any{"body": strings.Repeat("x", 5001)}); r.status != 422 || r.str("code") != "conversation.body_invalid" {
		t.Errorf("reply too long: %d %s", r.status, r.raw)
	}
	e.must(t, 200, e.call(t, "POST", "/v1/staff/conversations/"+id+"/replies", claire,
		map[string]any{"body": "Votre relevé de carrière est disponible dans votre espace."}, "If-Match", noted.header.Get("ETag")), "reply")

	// The mail says a reply is waiting, never what it says.
	m := e.mailText(t, "alice@example.test", "Une réponse à votre message")
	if strings.Contains(m, "relevé de carrière") || strings.Contains(m, "Date de départ") || !strings.Contains(m, "Ma retraite") {
		t.Errorf("reply mail:\n%s", m)
	}

	// Alice reads: the reply, no note, no staff id; read once, whatever the number of readings.
	first := e.must(t, 200, e.call(t, "GET", "/v1/conversations/"+id, alice, nil), "alice reads")
	msgs, _ = first.body["messages"].([]any)
	if len(msgs) != 2 || msgs[1].(map[string]any)["from"] != "staff" || msgs[1].(map[string]any)["read_at"] == nil ||
		first.body["status"] != "answered" || first.body["reply_due_at"] != nil {
		t.Fatalf("alice's reading: %s", first.raw)
	}
	if strings.Contains(string(first.raw), "Vérifier la carrière") || strings.Contains(string(first.raw), claireID) || strings.Contains(string(first.raw), "Claire") {
		t.Errorf("the member sees a note or a staff id: %s", first.raw)
	}
	readAt := msgs[1].(map[string]any)["read_at"]
	second := e.must(t, 200, e.call(t, "GET", "/v1/conversations/"+id, alice, nil), "alice reads again")
	if msgs, _ := second.body["messages"].([]any); msgs[1].(map[string]any)["read_at"] != readAt {
		t.Errorf("second reading moved the receipt: %v then %s", readAt, second.raw)
	}
	reads := 0
	for _, ev := range e.readStream(t, "conversation-"+id) {
		if ev.EventType == "ConversationMessageRead" {
			reads++
		}
		if strings.Contains(string(ev.Data), "relevé de carrière") || strings.Contains(string(ev.Data), "Vérifier") {
			t.Errorf("%s stores a body in clear: %s", ev.EventType, ev.Data)
		}
	}
	if reads != 2 { // claire read alice's message, alice read the reply: once each
		t.Errorf("%d read receipts, want 2", reads)
	}

	// Alice answers: the wait starts again with a due date; claire closes; alice can no longer write.
	answered := e.must(t, 201, e.call(t, "POST", "/v1/conversations/"+id+"/messages", alice, map[string]any{"body": "Merci beaucoup."}), "alice answers")
	after := e.must(t, 200, e.call(t, "GET", "/v1/conversations", alice, nil, "X-Dossier-Min-Position", answered.header.Get("X-Dossier-Position")), "list after answer")
	if c := after.body["conversations"].([]any)[0].(map[string]any); c["status"] != "awaiting_reply" || c["reply_due_at"] == nil || c["messages"] != float64(3) {
		t.Errorf("after the answer: %s", after.raw)
	}
	staffView := e.must(t, 200, e.call(t, "GET", "/v1/staff/conversations/"+id, claire, nil), "claire reads the answer")
	if notes, _ := staffView.body["notes"].([]any); len(notes) != 1 || staffView.body["assignee_name"] != "Claire Dupont" ||
		notes[0].(map[string]any)["staff_name"] != "Claire Dupont" {
		t.Errorf("staff view notes: %s", staffView.raw)
	}
	// Each staff reading is in alice's access log (the conversation's id; never who).
	opened := 0
	for _, ev := range e.readStream(t, "memberaccess-"+e.must(t, 200, e.call(t, "GET", "/v1/me", alice, nil), "alice's account").str("member_id")) {
		if ev.EventType == "MemberDataOpenedByStaff" && strings.Contains(string(ev.Data), `"what":"conversation"`) &&
			strings.Contains(string(ev.Data), id) {
			opened++
		}
	}
	if opened != 3 { // the auditor, then claire twice
		t.Errorf("%d staff readings in alice's access log, want 3", opened)
	}
	closed := e.must(t, 200, e.call(t, "POST", "/v1/staff/conversations/"+id+"/closure", claire, nil, "If-Match", staffView.header.Get("ETag")), "close")
	if r := e.call(t, "POST", "/v1/conversations/"+id+"/messages", alice, map[string]any{"body": "Encore une question"}); r.status != 422 || r.str("code") != "conversation.closed" {
		t.Errorf("writing on a closed conversation: %d %s", r.status, r.raw)
	}
	queue = e.must(t, 200, e.call(t, "GET", "/v1/queues/retraite/conversations", claire, nil, "X-Dossier-Min-Position", closed.header.Get("X-Dossier-Position")), "queue after closing")
	if qs, _ := queue.body["conversations"].([]any); len(qs) != 0 {
		t.Errorf("closed conversation still in the queue: %s", queue.raw)
	}
}
