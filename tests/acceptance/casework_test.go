package acceptance

import (
	"slices"
	"strings"
	"testing"

	"github.com/msa-dossier/dossier/domain/catalog/catalogtest"
)

// caseIDs returns the request ids of a case listing ({"cases": [...]}), in order.
func caseIDs(t *testing.T, r response) []string {
	t.Helper()
	list, ok := r.body["cases"].([]any)
	if !ok {
		t.Fatalf("no case list: %s", r.raw)
	}
	ids := []string{}
	for _, c := range list {
		ids = append(ids, c.(map[string]any)["request_id"].(string))
	}
	return ids
}

// queueCodes returns the queue codes of GET /v1/queues.
func queueCodes(t *testing.T, r response) []string {
	t.Helper()
	list, ok := r.body["queues"].([]any)
	if !ok {
		t.Fatalf("no queue list: %s", r.raw)
	}
	codes := []string{}
	for _, q := range list {
		codes = append(codes, q.(map[string]any)["queue"].(string))
	}
	return codes
}

// sampleForm is the catalogue's valid sample form of a service.
func sampleForm(t *testing.T, code string) map[string]any {
	t.Helper()
	sm, ok := catalogtest.For(code)
	if !ok {
		t.Fatalf("no catalogue sample for %s", code)
	}
	return sm.ValidForm()
}

// TestMyCases: GET /v1/cases lists exactly the caller's own open cases, across queues, earliest due first; a
// released case leaves it. Auditors, who hold no case, are refused.
func TestMyCases(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	paul, paulID := e.staffMember(t, "p.moreau", "Paul Moreau", "caseworker")
	odile, odileID := e.staffMember(t, "o.petit", "Odile Petit", "caseworker")
	auditor, _ := e.staffMember(t, "v.roux", "Victor Roux", "auditor")
	for id, queues := range map[string][]string{claireID: {"sante-c2s", "pro-attestations"}, paulID: {"sante-c2s"}, odileID: {"sante-c2s"}} {
		e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+id+"/queues", admin, map[string]any{"queues": queues}), "assign queues")
	}
	submit := func(service string) string {
		t.Helper()
		return e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": service, "form": sampleForm(t, service)}),
			"submit "+service).str("request_id")
	}
	c2sClaire, c2sPaul, attestation := submit("complementaire-sante-solidaire"), submit("complementaire-sante-solidaire"), submit("attestations-pro")
	submit("complementaire-sante-solidaire") // nobody's

	var last response
	for _, claim := range []struct{ token, id string }{{claire, c2sClaire}, {paul, c2sPaul}, {claire, attestation}} {
		last = e.must(t, 200, e.call(t, "POST", "/v1/cases/"+claim.id+"/claim", claim.token, nil), "claim")
	}
	pos := last.header.Get("X-Dossier-Position")
	mine := func(token string) []string {
		t.Helper()
		return caseIDs(t, e.must(t, 200, e.call(t, "GET", "/v1/cases", token, nil, "X-Dossier-Min-Position", pos), "my cases"))
	}
	// The attestation is due in 5 days, the C2S request in 30: the attestation comes first.
	if got := mine(claire); !slices.Equal(got, []string{attestation, c2sClaire}) {
		t.Fatalf("claire's cases %v, want %v", got, []string{attestation, c2sClaire})
	}
	if got := mine(paul); !slices.Equal(got, []string{c2sPaul}) {
		t.Fatalf("paul's cases %v, want %v", got, []string{c2sPaul})
	}
	if got := mine(odile); len(got) != 0 {
		t.Fatalf("odile holds no case, GET /v1/cases gave %v", got)
	}
	if r := e.call(t, "GET", "/v1/cases", auditor, nil); r.status != 403 {
		t.Fatalf("auditor's cases: %d %s", r.status, r.raw)
	}

	// Released with the claim's ETag, the attestation leaves claire's cases.
	rel := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+attestation+"/release", claire, nil, "If-Match", last.header.Get("ETag")), "release")
	pos = rel.header.Get("X-Dossier-Position")
	if got := mine(claire); !slices.Equal(got, []string{c2sClaire}) {
		t.Fatalf("claire's cases after the release %v, want %v", got, []string{c2sClaire})
	}
}

// TestConfidentialQueue: the medical queue (sante-invalidite) is assigned, shown and worked only for staff of the
// medical service (role medical), supervisors included; taking the role away hides it at once.
func TestConfidentialQueue(t *testing.T) {
	const queue, service = "sante-invalidite", "pension-invalidite"
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	medic, medicID := e.staffMember(t, "m.blanc", "Marie Blanc", "caseworker,medical")
	_, plainID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	chief, _ := e.staffMember(t, "s.girard", "Sophie Girard", "supervisor,medical")
	supervisor, _ := e.staffMember(t, "h.faure", "Hugo Faure", "supervisor")

	// Only a member of the medical service may be given the queue.
	r := e.call(t, "PUT", "/v1/staff/accounts/"+plainID+"/queues", admin, map[string]any{"queues": []string{"sante-c2s", queue}})
	if r.status != 422 || r.str("code") != "queue.medical_role_required" || r.str("field") != "queues" || r.str("message") == "" {
		t.Fatalf("confidential queue to a caseworker outside the medical service: %d %s", r.status, r.raw)
	}
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+medicID+"/queues", admin, map[string]any{"queues": []string{queue}}), "assign the medical queue")

	ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": service, "form": sampleForm(t, service)}), "submit")
	id, pos := ack.str("request_id"), ack.header.Get("X-Dossier-Position")

	// A supervisor outside the medical service neither sees nor touches it.
	queues := e.must(t, 200, e.call(t, "GET", "/v1/queues", supervisor, nil, "X-Dossier-Min-Position", pos), "supervisor's queues")
	if slices.Contains(queueCodes(t, queues), queue) || !slices.Contains(queueCodes(t, queues), "sante-c2s") {
		t.Fatalf("supervisor's queues: %s", queues.raw)
	}
	if r := e.call(t, "GET", "/v1/queues/"+queue+"/cases", supervisor, nil); r.status != 403 || r.str("code") != "queue.medical_only" {
		t.Fatalf("supervisor lists the medical queue: %d %s", r.status, r.raw)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/cases/" + id}, {"POST", "/v1/cases/" + id + "/claim"}, {"POST", "/v1/cases/" + id + "/notes"},
		{"POST", "/v1/cases/" + id + "/assignment"},
	} {
		var body any
		switch c.path {
		case "/v1/cases/" + id + "/notes":
			body = map[string]string{"text": "Vu."}
		case "/v1/cases/" + id + "/assignment":
			body = map[string]string{"to": medicID}
		}
		if r := e.call(t, c.method, c.path, supervisor, body); r.status != 404 {
			t.Fatalf("supervisor %s %s: %d %s, want 404", c.method, c.path, r.status, r.raw)
		}
	}
	if r := e.call(t, "POST", "/v1/queues/"+queue+"/claim-next", supervisor, nil); r.status != 403 {
		t.Fatalf("supervisor claims next in the medical queue: %d %s", r.status, r.raw)
	}

	// The medical caseworker sees it, claims the next case (with its ETag) and finds it among their cases.
	queues = e.must(t, 200, e.call(t, "GET", "/v1/queues", medic, nil, "X-Dossier-Min-Position", pos), "medic's queues")
	if got := queueCodes(t, queues); !slices.Equal(got, []string{queue}) {
		t.Fatalf("medic's queues %v", got)
	}
	if got := caseIDs(t, e.must(t, 200, e.call(t, "GET", "/v1/queues/"+queue+"/cases", chief, nil), "chief lists")); !slices.Equal(got, []string{id}) {
		t.Fatalf("medical queue for the medical supervisor: %v", got)
	}
	next := e.must(t, 200, e.call(t, "POST", "/v1/queues/"+queue+"/claim-next", medic, nil), "claim next")
	if next.str("request_id") != id || next.header.Get("ETag") == "" {
		t.Fatalf("claim next: %s (ETag %q)", next.raw, next.header.Get("ETag"))
	}
	pos = next.header.Get("X-Dossier-Position")
	if got := caseIDs(t, e.must(t, 200, e.call(t, "GET", "/v1/cases", medic, nil, "X-Dossier-Min-Position", pos), "medic's cases")); !slices.Equal(got, []string{id}) {
		t.Fatalf("medic's cases %v", got)
	}
	e.must(t, 200, e.call(t, "POST", "/v1/cases/"+id+"/notes", medic, map[string]string{"text": "Certificat attendu par courrier."},
		"If-Match", next.header.Get("ETag")), "note")

	// The medical supervisor may not hand it to someone outside the medical service.
	r = e.call(t, "POST", "/v1/cases/"+id+"/assignment", chief, map[string]string{"to": plainID})
	if r.status != 422 || r.str("code") != "case.assignee_medical_required" || r.str("field") != "to" {
		t.Fatalf("reassignment outside the medical service: %d %s", r.status, r.raw)
	}

	// Without the medical role the caseworker loses the case at once, though it stays assigned to them.
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+medicID+"/roles", admin, map[string]any{"roles": []string{"caseworker"}}), "remove the medical role")
	if r := e.call(t, "POST", "/v1/cases/"+id+"/decision", medic, map[string]any{"approved": true}); r.status != 404 {
		t.Fatalf("decision without the medical role: %d %s", r.status, r.raw)
	}
	if got := caseIDs(t, e.must(t, 200, e.call(t, "GET", "/v1/cases", medic, nil), "cases without the role")); len(got) != 0 {
		t.Fatalf("cases without the medical role: %v", got)
	}
	if got := queueCodes(t, e.must(t, 200, e.call(t, "GET", "/v1/queues", medic, nil), "queues without the role")); len(got) != 0 {
		t.Fatalf("queues without the medical role: %v", got)
	}
	// The medical supervisor still sees it, held by the former medic.
	c := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+id, chief, nil), "chief reads the case")
	if c.body["assignee_id"] != medicID || c.str("queue") != queue {
		t.Fatalf("case for the medical supervisor: %s", c.raw)
	}
	// The supervisor's read outside the medical service (404) opened nothing and is not in the member's access log;
	// the chief's read is.
	opened := e.readStream(t, "memberaccess-"+c.str("member_id"))
	if c.str("member_id") == "" || len(opened) != 1 || !strings.Contains(string(opened[0].Data), `"case.file"`) {
		t.Fatalf("access log after the supervisors' reads: %d events", len(opened))
	}
}
