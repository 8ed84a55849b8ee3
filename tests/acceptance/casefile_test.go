package acceptance

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// timelineOf returns the "timeline" steps of a case or a request.
func timelineOf(t *testing.T, r response) []map[string]any {
	t.Helper()
	list, ok := r.body["timeline"].([]any)
	if !ok {
		t.Fatalf("no timeline: %s", r.raw)
	}
	out := make([]map[string]any, len(list))
	for i, s := range list {
		out[i] = s.(map[string]any)
	}
	return out
}

// stepOf returns the first step of kind in a staff timeline, or fails.
func stepOf(t *testing.T, steps []map[string]any, kind string) map[string]any {
	t.Helper()
	for _, s := range steps {
		if s["kind"] == kind {
			return s
		}
	}
	t.Fatalf("no %s step in %v", kind, steps)
	return nil
}

// formField returns the field called name of the "form" of a case or a request, or fails.
func formField(t *testing.T, r response, name string) map[string]any {
	t.Helper()
	form, _ := r.body["form"].(map[string]any)
	fields, _ := form["fields"].([]any)
	for _, f := range fields {
		if m := f.(map[string]any); m["name"] == name {
			return m
		}
	}
	t.Fatalf("no form field %s: %s", name, r.raw)
	return nil
}

// TestCaseFileStory: a member declares a work accident → a caseworker reads the case with the form, labelled as the
// catalog labels it, adds a note and asks for information → the member answers → the caseworker reads the answer
// and the note in the timeline, with who did what → the member reads their form, what was asked and their answer,
// but no note and no staff identity → another member, and a caseworker outside the queue, read nothing → every
// staff opening of the case file, and only those, is in the member's access log, with the request's reference, which
// the member reads in their own log.
func TestCaseFileStory(t *testing.T) {
	const service, queue = "accident-travail-non-salarie", "pro-atexa"
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	outsider, outsiderID := e.staffMember(t, "o.petit", "Odile Petit", "caseworker")
	auditor, auditorID := e.staffMember(t, "v.roux", "Victor Roux", "auditor")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin, map[string]any{"queues": []string{queue}}), "assign claire")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+outsiderID+"/queues", admin, map[string]any{"queues": []string{"sante-c2s"}}), "assign the outsider")

	ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": service, "form": sampleForm(t, service)}), "submit")
	id, pos := ack.str("request_id"), ack.header.Get("X-Dossier-Position")
	aliceID := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+id, alice, nil, "X-Dossier-Min-Position", pos), "alice's request").str("member_id")
	if aliceID == "" {
		t.Fatal("alice's request has no member_id")
	}

	// The caseworker reads the case: the queue's view as before, whose it is, the form with its labels, the steps.
	c := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+id, claire, nil, "X-Dossier-Min-Position", pos), "claire reads the case")
	if c.str("member_id") != aliceID || c.str("queue") != queue || c.str("status") != "queued" || c.header.Get("ETag") == "" ||
		c.header.Get("ETag") != `"2"` {
		t.Fatalf("case: %s (ETag %s)", c.raw, c.header.Get("ETag"))
	}
	if f := formField(t, c, "accident_date"); f["label"] != "Date de l'accident" || f["value"] != "2026-03-02" || f["type"] != "date" {
		t.Fatalf("accident_date: %v", f)
	}
	if f := formField(t, c, "victim"); f["value"] != "self" || f["value_label"] != "Moi-même" {
		t.Fatalf("victim: %v", f)
	}
	if form := c.body["form"].(map[string]any); form["catalog_version"] != "2026.1" || form["service_code"] != service {
		t.Fatalf("form: %v", form)
	}
	steps := timelineOf(t, c)
	if len(steps) != 3 || steps[0]["kind"] != "submitted" || steps[1]["kind"] != "acknowledged" || steps[2]["kind"] != "queued" {
		t.Fatalf("timeline of a new case: %v", steps)
	}
	if actor := steps[0]["actor"].(map[string]any); actor["id"] != aliceID || actor["role"] != "member" {
		t.Fatalf("submitted by %v", actor)
	}
	if d := steps[1]["details"].(map[string]any); d["reference"] != ack.str("reference") {
		t.Fatalf("acknowledgement details: %v", d)
	}

	// Claim, note, information request: each with the ETag the last change answered.
	claim := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+id+"/claim", claire, nil, "If-Match", c.header.Get("ETag")), "claim")
	const noteText = "Appel de l'adhérente : le témoin est joignable le matin."
	note := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+id+"/notes", claire, map[string]string{"text": noteText},
		"If-Match", claim.header.Get("ETag")), "note")
	deadline := time.Now().Add(15 * 24 * time.Hour).UTC().Truncate(time.Second)
	info := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+id+"/information-requests", claire,
		map[string]any{"items": []string{"Coordonnées du témoin"}, "deadline": deadline.Format(time.RFC3339)},
		"If-Match", note.header.Get("ETag")), "request information")

	// The member sees what is asked, answers; the caseworker reads the answer and the note.
	const answer = "Témoin : Jean Dupuis, voisin de l'exploitation."
	e.must(t, 200, e.call(t, "GET", "/v1/requests/"+id, alice, nil, "X-Dossier-Min-Position", info.header.Get("X-Dossier-Position")), "alice reads the request")
	answered := e.must(t, 200, e.call(t, "POST", "/v1/requests/"+id+"/information", alice, map[string]string{"what": answer}), "answer")
	pos = answered.header.Get("X-Dossier-Position")

	c = e.must(t, 200, e.call(t, "GET", "/v1/cases/"+id, claire, nil, "X-Dossier-Min-Position", pos), "claire reads the answer")
	steps = timelineOf(t, c)
	var kinds []string
	for _, s := range steps {
		kinds = append(kinds, s["kind"].(string))
	}
	if want := []string{"submitted", "acknowledged", "queued", "claimed", "note", "information_requested", "information_received"}; !slices.Equal(kinds, want) {
		t.Fatalf("timeline kinds %v, want %v", kinds, want)
	}
	n := stepOf(t, steps, "note")
	if n["staff_only"] != true || n["details"].(map[string]any)["text"] != noteText || n["details"].(map[string]any)["author_id"] != claireID {
		t.Fatalf("note step: %v", n)
	}
	if actor := n["actor"].(map[string]any); actor["id"] != claireID || actor["role"] != "caseworker" {
		t.Fatalf("note by %v", actor)
	}
	asked := stepOf(t, steps, "information_requested")
	if d := asked["details"].(map[string]any); asked["staff_only"] != false || d["caseworker_id"] != claireID ||
		!slices.Equal(d["items"].([]any), []any{"Coordonnées du témoin"}) || d["deadline"] != deadline.Format(time.RFC3339) {
		t.Fatalf("information request step: %v", asked)
	}
	got := stepOf(t, steps, "information_received")
	if got["details"].(map[string]any)["answer"] != answer || got["actor"].(map[string]any)["id"] != aliceID {
		t.Fatalf("answer step: %v", got)
	}
	if c.header.Get("ETag") != `"6"` || c.str("status") != "claimed" {
		t.Fatalf("case after the answer: %s (ETag %s)", c.raw, c.header.Get("ETag"))
	}

	// The member's view: the form, the request and their answer; no note, no staff identity.
	mine := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+id, alice, nil, "X-Dossier-Min-Position", pos), "alice reads her request")
	if f := formField(t, mine, "accident_date"); f["label"] != "Date de l'accident" || f["value"] != "2026-03-02" {
		t.Fatalf("alice's form: %v", f)
	}
	var labels []string
	var sawItems, sawAnswer bool
	for _, s := range timelineOf(t, mine) {
		labels = append(labels, s["label"].(string))
		if d, ok := s["details"].(map[string]any); ok {
			if items, ok := d["items"].([]any); ok && slices.Equal(items, []any{"Coordonnées du témoin"}) {
				sawItems = true
			}
			sawAnswer = sawAnswer || d["answer"] == answer
		}
	}
	if !slices.Contains(labels, "Demande prise en charge par un conseiller") || !sawItems || !sawAnswer || len(labels) != 6 {
		t.Fatalf("alice's timeline (%d steps, items %v, answer %v): %v", len(labels), sawItems, sawAnswer, labels)
	}
	for _, secret := range []string{noteText, claireID, "staff_only", "actor", "caseworker", queue} {
		if strings.Contains(string(mine.raw), secret) {
			t.Fatalf("alice's request shows %q: %s", secret, mine.raw)
		}
	}

	// Nobody else reads it: another member, a caseworker outside the queue.
	if r := e.call(t, "GET", "/v1/requests/"+id, bob, nil); r.status != 404 {
		t.Fatalf("bob reads alice's request: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/v1/cases/"+id, outsider, nil); r.status != 403 || r.str("code") != "case.outside_queues" ||
		strings.Contains(string(r.raw), answer) {
		t.Fatalf("outsider reads the case: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/v1/cases/"+id, alice, nil); r.status != 403 {
		t.Fatalf("a member reads the staff case: %d %s", r.status, r.raw)
	}
	// An auditor reads everything, the note included.
	audit := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+id, auditor, nil), "auditor reads the case")
	if !strings.Contains(string(audit.raw), noteText) || !strings.Contains(string(audit.raw), answer) {
		t.Fatalf("auditor's case: %s", audit.raw)
	}

	// Each staff opening is recorded before the answer, with who and in which role; refused reads are not.
	access := e.readStream(t, "memberaccess-"+aliceID)
	var openers []string
	for _, ev := range access {
		var opened struct {
			StaffID string `json:"staff_id"`
			Role    string `json:"role"`
			What    string `json:"what"`
			Subject string `json:"subject"`
		}
		if err := json.Unmarshal(ev.Data, &opened); err != nil {
			t.Fatal(err)
		}
		if ev.EventType != "MemberDataOpenedByStaff" || opened.What != "case.file" || opened.Subject == "" ||
			opened.Subject != ack.str("reference") || opened.Subject != c.str("reference") {
			t.Fatalf("access log event %s %s", ev.EventType, ev.Data)
		}
		openers = append(openers, opened.StaffID+" "+opened.Role)
	}
	if want := []string{claireID + " caseworker", claireID + " caseworker", auditorID + " auditor"}; !slices.Equal(openers, want) {
		t.Fatalf("access log of alice: %v, want %v", openers, want)
	}
	// Alice reads which of her requests was opened: its reference, in the label too; still never who.
	var log response
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		log = e.must(t, 200, e.call(t, "GET", "/v1/me/accesses", alice, nil), "alice's log")
		if list, _ := log.body["accesses"].([]any); len(list) == len(openers) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the openings never reached alice's log: %s", log.raw)
		}
	}
	for _, a := range log.body["accesses"].([]any) {
		entry := a.(map[string]any)
		if entry["purpose"] != "case.file" || entry["subject"] != ack.str("reference") ||
			entry["purpose_label"] != "Consultation de votre demande "+ack.str("reference")+" (formulaire et suivi)" {
			t.Fatalf("alice's log: %s", log.raw)
		}
	}
	for _, who := range []string{claireID, auditorID, "Claire", "Victor", queue} {
		if strings.Contains(string(log.raw), who) {
			t.Fatalf("alice's log shows %q: %s", who, log.raw)
		}
	}
}

// TestStaffNamesInCaseViews: a caseworker claims a case → a supervisor reads the caseworker's name next to their id
// in the queue's listing, in the case and on the claim step of its timeline; the caseworker reads it in their own
// cases → the member's request shows neither the caseworker's id nor their name.
func TestStaffNamesInCaseViews(t *testing.T) {
	const service, queue = "accident-travail-non-salarie", "pro-atexa"
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	supervisor, _ := e.staffMember(t, "s.bernard", "Sophie Bernard", "supervisor")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin, map[string]any{"queues": []string{queue}}), "assign claire")

	ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": service, "form": sampleForm(t, service)}), "submit")
	id := ack.str("request_id")
	e.must(t, 200, e.call(t, "GET", "/v1/cases/"+id, claire, nil, "X-Dossier-Min-Position", ack.header.Get("X-Dossier-Position")), "claire reads the case")
	claim := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+id+"/claim", claire, nil), "claim")
	pos := claim.header.Get("X-Dossier-Position")

	caseIn := func(r response) map[string]any {
		t.Helper()
		for _, c := range r.body["cases"].([]any) {
			if m := c.(map[string]any); m["request_id"] == id {
				return m
			}
		}
		t.Fatalf("case %s not listed: %s", id, r.raw)
		return nil
	}
	listed := caseIn(e.must(t, 200, e.call(t, "GET", "/v1/queues/"+queue+"/cases", supervisor, nil, "X-Dossier-Min-Position", pos), "supervisor lists the queue"))
	if listed["assignee_id"] != claireID || listed["assignee_name"] != "Claire Dupont" {
		t.Fatalf("listed case: %v", listed)
	}
	if mine := caseIn(e.must(t, 200, e.call(t, "GET", "/v1/cases", claire, nil, "X-Dossier-Min-Position", pos), "claire's cases")); mine["assignee_name"] != "Claire Dupont" {
		t.Fatalf("claire's case: %v", mine)
	}

	c := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+id, supervisor, nil, "X-Dossier-Min-Position", pos), "supervisor reads the case")
	if c.str("assignee_id") != claireID || c.str("assignee_name") != "Claire Dupont" {
		t.Fatalf("case: %s", c.raw)
	}
	steps := timelineOf(t, c)
	claimed := stepOf(t, steps, "claimed")
	if actor := claimed["actor"].(map[string]any); actor["id"] != claireID || claimed["actor_name"] != "Claire Dupont" {
		t.Fatalf("claim step: %v", claimed)
	}
	if submitted := stepOf(t, steps, "submitted"); submitted["actor_name"] != nil {
		t.Fatalf("a member's step carries a staff name: %v", submitted)
	}

	// The member reads their request: no staff id, no staff name.
	mine := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+id, alice, nil, "X-Dossier-Min-Position", pos), "alice reads her request")
	for _, secret := range []string{claireID, "Claire Dupont", "Dupont", "assignee", "actor_name"} {
		if strings.Contains(string(mine.raw), secret) {
			t.Fatalf("alice's request shows %q: %s", secret, mine.raw)
		}
	}
}
