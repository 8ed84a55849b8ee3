package acceptance

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/filecheck/filechecktest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/tests/testbin"
)

// TestAuditorHistory: a member's journey (registration, activation, a request submitted, claimed and decided, a
// deposit, a message, an appointment) is all in the auditor's history of the member, with actors and roles, in
// commit order; the case's history holds the case's events only; members and caseworkers are refused; bad input is
// answered; and the member's access log shows the auditor's reading.
func TestAuditorHistory(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		var args []string
		if tg.Dialect == sqldb.Postgres {
			args = append(args, "--postgres-url", tg.DSN)
		}
		auditorHistoryStory(t, startMemberEnv(t, args...))
	})
}

func auditorHistoryStory(t *testing.T, e *memberEnv) {
	started := time.Now().Add(-time.Second)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	aliceID := e.must(t, 200, e.call(t, "GET", "/v1/me", alice, nil), "alice's account").str("member_id")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	supervisor, _ := e.staffMember(t, "s.martin", "Sophie Martin", "supervisor")
	auditor, auditorID := e.staffMember(t, "v.roux", "Victor Roux", "auditor")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin, map[string]any{"queues": []string{"sante-c2s"}}), "assign claire")

	// A request, claimed and decided by Claire.
	ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}), "submit")
	reqID := ack.str("request_id")
	e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID, claire, nil, "X-Dossier-Min-Position", ack.header.Get("X-Dossier-Position")), "case visible")
	e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/claim", claire, nil), "claim")
	e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/decision", claire, map[string]any{"approved": true}), "decide")
	// A deposit of other documents, a message, an appointment.
	e.must(t, 201, e.deposit(t, alice, map[string]any{"subject": "other", "attestation": true,
		"documents": []any{docSpec("other")}}, []upload{{0, "lettre.pdf", filechecktest.PDF("Une lettre")}}), "deposit")
	e.must(t, 201, e.call(t, "POST", "/v1/conversations", alice, map[string]any{"theme": "retraite", "subject": "Ma retraite", "body": "Bonjour"}), "message")
	paris := parisOr(t)
	today := time.Now().In(paris)
	var weekly []map[string]any
	for d := 1; d <= 5; d++ {
		weekly = append(weekly, map[string]any{"weekday": d, "start": "08:30", "end": "12:00"})
	}
	pub := e.must(t, 201, e.call(t, "POST", "/v1/staff/accounts/"+claireID+"/availability", supervisor, map[string]any{
		"theme": "question-generale", "channel": "agency", "agency": "lille", "from_on": today.Format("2006-01-02"),
		"until_on": today.AddDate(0, 0, 30).Format("2006-01-02"), "weekly": weekly}), "publish")
	slots := e.slotList(t, alice, time.Now().Add(48*time.Hour), time.Now().AddDate(0, 0, 28), "X-Dossier-Min-Position", pub.header.Get("X-Dossier-Position"))
	if len(slots) == 0 {
		t.Fatal("no free slot")
	}
	booked := e.must(t, 201, e.call(t, "POST", "/v1/appointments", alice, map[string]any{"theme": "question-generale",
		"channel": "agency", "agency": "lille", "start_at": slots[0]["start_at"], "note": "Mes cotisations"}), "book")
	last := booked.header.Get("X-Dossier-Position")

	// Only auditors read histories; no lookup before the role check (an unknown id is 403 too).
	path := "/v1/audit/members/" + aliceID + "/history"
	for who, tok := range map[string]string{"alice": alice, "bob": bob, "claire": claire, "supervisor": supervisor} {
		if r := e.call(t, "GET", path, tok, nil); r.status != 403 {
			t.Errorf("%s reads alice's history: %d %s", who, r.status, r.raw)
		}
		if r := e.call(t, "GET", "/v1/audit/cases/"+reqID+"/history", tok, nil); r.status != 403 {
			t.Errorf("%s reads the case's history: %d %s", who, r.status, r.raw)
		}
	}
	if r := e.call(t, "GET", "/v1/audit/members/7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11/history", claire, nil); r.status != 403 {
		t.Errorf("a caseworker asks for an unknown member: %d %s", r.status, r.raw)
	}
	// Bad input.
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		path        string
		status      int
		code, field string
	}{
		{"/v1/audit/members/not-a-uuid/history", 400, "request.invalid_id", ""},
		{"/v1/audit/members/7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11/history", 404, "audit.member_not_found", ""},
		{"/v1/audit/cases/7f0c3a52-9a43-4a8e-8d0a-3f1e7e1b5c11/history", 404, "audit.case_not_found", ""},
		{path + "?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", 422, "audit.period_invalid", "from"},
		{path + "?to=" + future, 422, "audit.time_in_future", "to"},
		{path + "?from=" + future, 422, "audit.time_in_future", "from"},
		{path + "?from=hier", 422, "page.invalid_filter", "from"},
	} {
		r := e.call(t, "GET", c.path, auditor, nil, "X-Dossier-Min-Position", last)
		if r.status != c.status || r.str("code") != c.code || r.str("field") != c.field || r.str("message") == "" {
			t.Errorf("GET %s: %d %s, want %d %s naming %q", c.path, r.status, r.raw, c.status, c.code, c.field)
		}
	}

	// The whole history, in one page.
	h := e.must(t, 200, e.call(t, "GET", path+"?limit=1000", auditor, nil, "X-Dossier-Min-Position", last), "alice's history")
	events, _ := h.body["events"].([]any)
	if h.body["next"] != nil || h.str("member_id") != aliceID {
		t.Fatalf("history head: next %v, member %v", h.body["next"], h.body["member_id"])
	}
	var prev uint64
	seen := map[string]map[string]any{}
	for _, raw := range events {
		ev := raw.(map[string]any)
		pos, err := strconv.ParseUint(ev["position"].(string), 10, 64)
		if err != nil || pos <= prev {
			t.Fatalf("positions not increasing: %v after %d", ev["position"], prev)
		}
		prev = pos
		stored, _ := ev["stored"].(map[string]any)
		if stored["stream"] != ev["stream"] || stored["id"] != ev["event_id"] || stored["data"] == "" || stored["commit"] == nil {
			t.Errorf("stored leaf of %v: %v", ev["type"], stored)
		}
		for _, k := range []string{"occurred_at", "recorded_at", "command_id", "correlation_id", "causation_id", "event_id"} {
			if s, _ := ev[k].(string); s == "" {
				t.Errorf("%v has no %s", ev["type"], k)
			}
		}
		if strings.Contains(ev["stream"].(string), bobNIR) {
			t.Errorf("a stream named after a NIR: %v", ev["stream"])
		}
		if _, ok := seen[ev["type"].(string)]; !ok {
			seen[ev["type"].(string)] = ev
		}
	}
	actor := func(ev map[string]any) (string, string) {
		a, _ := ev["actor"].(map[string]any)
		id, _ := a["id"].(string)
		role, _ := a["role"].(string)
		return id, role
	}
	for typ, wantRole := range map[string]string{
		"RegistrationStarted": "", "RegistrationCompleted": "member", "NIRClaimed": "member", "MemberRegistered": "member",
		"MemberLoggedIn": "member", "ServiceRequestSubmitted": "member", "ServiceRequestReferenceClaimed": "member",
		"ServiceRequestClaimed": "caseworker", "ServiceRequestDecided": "caseworker", "DocumentsSubmitted": "member",
		"ConversationStarted": "member", "AppointmentBooked": "member", "MemberDataOpenedByStaff": "",
	} {
		ev, ok := seen[typ]
		if !ok {
			t.Errorf("alice's history has no %s; it has %v", typ, typesOf(seen))
			continue
		}
		id, role := actor(ev)
		if id == "" || role == "" || (wantRole != "" && role != wantRole) {
			t.Errorf("%s: actor %q role %q, want role %q", typ, id, role, wantRole)
		}
	}
	if id, _ := actor(seen["ServiceRequestDecided"]); id != claireID {
		t.Errorf("decided by %s, want claire %s", id, claireID)
	}
	if id, _ := actor(seen["ServiceRequestSubmitted"]); id != aliceID {
		t.Errorf("submitted by %s, want alice %s", id, aliceID)
	}
	if d, _ := seen["ConversationStarted"]["data"].(map[string]any); d["subject"] != "Ma retraite" {
		t.Errorf("the conversation's sealed subject is not opened: %v", seen["ConversationStarted"]["data"])
	}
	// Bob's streams are not Alice's.
	for _, raw := range events {
		if b, _ := raw.(map[string]any)["data"].(map[string]any); b != nil && b["last_name"] == "Le Gall" {
			t.Errorf("bob's data in alice's history: %v", raw)
		}
	}

	// Filters and pages: the requests' events only, two by two, the same events as in the whole history.
	var paged []string
	next := ""
	for range 20 {
		q := path + "?limit=2&type=ServiceRequestSubmitted,ServiceRequestDecided&type=ServiceRequestClaimed"
		if next != "" {
			q += "&cursor=" + next
		}
		p := e.must(t, 200, e.call(t, "GET", q, auditor, nil), "a page")
		for _, raw := range p.body["events"].([]any) {
			paged = append(paged, raw.(map[string]any)["type"].(string))
		}
		next, _ = p.body["next"].(string)
		if next == "" {
			break
		}
	}
	if strings.Join(paged, ",") != "ServiceRequestSubmitted,ServiceRequestClaimed,ServiceRequestDecided" {
		t.Errorf("filtered pages: %v", paged)
	}
	if p := e.must(t, 200, e.call(t, "GET", path+"?to=2020-01-01T00:00:00Z", auditor, nil), "before anything"); len(p.body["events"].([]any)) != 0 {
		t.Errorf("events recorded before 2020: %s", p.raw)
	}

	// The case's history: its own events, nothing of the account.
	ch := e.must(t, 200, e.call(t, "GET", "/v1/audit/cases/"+reqID+"/history", auditor, nil), "the case's history")
	var caseTypes []string
	for _, raw := range ch.body["events"].([]any) {
		ev := raw.(map[string]any)
		s := ev["stream"].(string)
		if !strings.HasPrefix(s, "servicerequest-"+reqID) && !strings.HasPrefix(s, "servicerequestref-") {
			t.Errorf("the case's history holds %s", s)
		}
		caseTypes = append(caseTypes, ev["type"].(string))
	}
	if ch.str("member_id") != aliceID || !strings.Contains(strings.Join(caseTypes, ","), "ServiceRequestDecided") ||
		!strings.Contains(strings.Join(caseTypes, ","), "ServiceRequestReferenceClaimed") {
		t.Errorf("the case's history: %s", ch.raw)
	}

	// Medical secrecy: a case of the confidential queue does not exist for an auditor outside the medical service,
	// nor in the member's history; a medical auditor reads both.
	medAck := e.must(t, 201, e.call(t, "POST", "/v1/requests", bob, map[string]any{"service": "pension-invalidite",
		"form": sampleForm(t, "pension-invalidite")}), "bob's medical request")
	medID, medPos := medAck.str("request_id"), medAck.header.Get("X-Dossier-Position")
	if r := e.call(t, "GET", "/v1/audit/cases/"+medID+"/history", auditor, nil, "X-Dossier-Min-Position", medPos); r.status != 404 || r.str("code") != "audit.case_not_found" {
		t.Errorf("a confidential case to an auditor outside the medical service: %d %s", r.status, r.raw)
	}
	bobID := e.must(t, 200, e.call(t, "GET", "/v1/me", bob, nil), "bob's account").str("member_id")
	bobHistory := e.must(t, 200, e.call(t, "GET", "/v1/audit/members/"+bobID+"/history?limit=1000", auditor, nil, "X-Dossier-Min-Position", medPos), "bob's history")
	if strings.Contains(string(bobHistory.raw), medID) || strings.Contains(string(bobHistory.raw), "ServiceRequestSubmitted") {
		t.Errorf("bob's history shows his confidential case to an auditor outside the medical service")
	}
	medical, _ := e.staffMember(t, "m.blanc", "Marc Blanc", "auditor,medical")
	e.must(t, 200, e.call(t, "GET", "/v1/audit/cases/"+medID+"/history", medical, nil), "the medical auditor reads the case")
	if r := e.must(t, 200, e.call(t, "GET", "/v1/audit/members/"+bobID+"/history?limit=1000", medical, nil), "the medical auditor reads bob"); !strings.Contains(string(r.raw), medID) {
		t.Errorf("the medical auditor does not see bob's confidential case")
	}

	// The same history from the command line, JSON Lines: every event the HTTP history showed, in commit order; the
	// case's; and a period of the whole log.
	exported := e.exportLines(t, "--member", aliceID)
	ids := map[string]bool{}
	prev = 0
	for _, ev := range exported {
		pos, _ := strconv.ParseUint(ev["position"].(string), 10, 64)
		if pos <= prev {
			t.Fatalf("export: positions not increasing at %v", ev["position"])
		}
		prev = pos
		ids[ev["event_id"].(string)] = true
		if _, ok := ev["stored"].(map[string]any); !ok {
			t.Fatalf("export line without its stored leaf: %v", ev)
		}
	}
	for _, raw := range events {
		if id := raw.(map[string]any)["event_id"].(string); !ids[id] {
			t.Errorf("export of alice lacks %v", raw.(map[string]any)["type"])
		}
	}
	if c := e.exportLines(t, "--case", reqID); len(c) < len(ch.body["events"].([]any)) {
		t.Errorf("export of the case: %d lines, the HTTP history %d", len(c), len(ch.body["events"].([]any)))
	}
	period := e.exportLines(t, "--from", started.UTC().Format(time.RFC3339Nano))
	if len(period) <= len(exported) {
		t.Errorf("the period since the start holds %d events, alice's history alone %d", len(period), len(exported))
	}
	// Medical secrecy on the command line too: bob's confidential case is neither in his export nor in the period's
	// for an auditor outside the medical service, and its own export is refused as unknown; the medical auditor
	// exports it.
	// (The case id itself is in bob's access log by now, as the subject of the medical auditor's reading: look for
	// the case's streams.)
	ofCase := func(lines []map[string]any) int {
		n := 0
		for _, l := range lines {
			if strings.Contains(l["stream"].(string), medID) {
				n++
			}
		}
		return n
	}
	if n := ofCase(e.exportLines(t, "--member", bobID)); n != 0 {
		t.Errorf("bob's export shows %d events of his confidential case to an auditor outside the medical service", n)
	}
	if n := ofCase(period); n != 0 {
		t.Errorf("the period's export shows %d events of bob's confidential case to an auditor outside the medical service", n)
	}
	cmd := exec.Command(testbin.Dossier(t), "audit", "export", "--auditor", "v.roux", "--case", medID)
	cmd.Dir = e.srv.cmd.Dir
	cmd.Env = append(os.Environ(), e.adminEnv...)
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "audit.case_not_found") {
		t.Errorf("the export of a confidential case by an auditor outside the medical service: %v\n%s", err, b)
	}
	if n := ofCase(e.exportLinesAs(t, "m.blanc", "--member", bobID)); n == 0 {
		t.Errorf("the medical auditor's export of bob lacks his confidential case")
	}
	// The CLI names its auditor: a login without the auditor role, or no such login, is refused and nothing is
	// written.
	for _, login := range []string{"c.dupont", "nobody"} {
		out := filepath.Join(t.TempDir(), "refused.jsonl")
		cmd := exec.Command(testbin.Dossier(t), "audit", "export", "--auditor", login, "--member", aliceID, "--out", out)
		cmd.Dir = e.srv.cmd.Dir
		cmd.Env = append(os.Environ(), e.adminEnv...)
		if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "--auditor") {
			t.Errorf("an export as %s: %v\n%s", login, err, b)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("an export as %s wrote its file (%v)", login, err)
		}
	}

	// Each export is in the access log of the members it holds, as the internal control: alice's shows her own
	// export, her case's and the period's; bob's the period's.
	for who, want := range map[string]struct {
		token string
		n     int
	}{"alice": {alice, 3}, "bob": {bob, 1}} {
		deadline := time.Now().Add(15 * time.Second)
		for {
			log := e.must(t, 200, e.call(t, "GET", "/v1/me/accesses", want.token, nil), who+"'s log")
			n, onCase := 0, false
			for _, raw := range log.body["accesses"].([]any) {
				a := raw.(map[string]any)
				if a["purpose"] == "audit.export" && a["role"] == "auditor" && a["role_label"] == "Contrôle interne de la caisse" &&
					strings.HasPrefix(a["purpose_label"].(string), "Export de l'historique") {
					n++
					onCase = onCase || a["subject"] == reqID
				}
			}
			if n >= want.n && (who != "alice" || onCase) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's log shows %d exports (want %d, the case's among them for alice): %s", who, n, want.n, log.raw)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Alice's access log shows the auditor's readings, as the internal control, never by name.
	deadline := time.Now().Add(15 * time.Second)
	for {
		log := e.must(t, 200, e.call(t, "GET", "/v1/me/accesses", alice, nil), "alice's log")
		n := 0
		for _, raw := range log.body["accesses"].([]any) {
			a := raw.(map[string]any)
			if a["purpose"] == "audit.history" && a["role"] == "auditor" && a["role_label"] == "Contrôle interne de la caisse" {
				n++
			}
		}
		if strings.Contains(string(log.raw), auditorID) || strings.Contains(string(log.raw), "Roux") {
			t.Fatalf("alice's log names the auditor: %s", log.raw)
		}
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the auditor's readings are not in alice's log (%d): %s", n, log.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func typesOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// exportLines runs `dossier audit export` as the auditor v.roux with args into a file and returns its lines.
func (e *memberEnv) exportLines(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	return e.exportLinesAs(t, "v.roux", args...)
}

// exportLinesAs is exportLines as the auditor of login.
func (e *memberEnv) exportLinesAs(t *testing.T, login string, args ...string) []map[string]any {
	t.Helper()
	out := filepath.Join(t.TempDir(), "export.jsonl")
	e.admin(t, nil, append([]string{"audit", "export", "--auditor", login, "--out", out}, args...)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		list = append(list, m)
	}
	return list
}
