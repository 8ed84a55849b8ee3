package acceptance

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestAuditorSeesThePastAsItWas (issue 16 item 2) through the real binary: an auditor reads a member's account as it
// was before and after a change (equal to what GET /v1/me showed then, plus as_of), and a queue before and after a
// submission; each account read is in the member's access log; other roles are refused; a bad, too early or future
// point, an unknown member or queue get their stable answers.
func TestAuditorSeesThePastAsItWas(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	auditor, _ := e.staffMember(t, "a.durand", "Aline Durand", "auditor")
	caseworker, _ := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")

	before := e.must(t, 200, e.call(t, "GET", "/v1/me", alice, nil), "me before")
	memberID, pos0 := before.str("member_id"), before.str("position")
	changed := e.must(t, 200, e.call(t, "PUT", "/v1/me/phone", alice, map[string]string{"mobile_phone": "06 12 34 56 78"}), "phone")
	after := e.must(t, 200, e.call(t, "GET", "/v1/me", alice, nil, "X-Dossier-Min-Position", changed.str("position")), "me after")
	pos1 := after.str("position")

	account := func(token, at string) response {
		return e.call(t, "GET", "/v1/audit/members/"+memberID+"/account?at="+url.QueryEscape(at), token, nil)
	}
	for _, c := range []struct {
		at   string
		live response
	}{{pos0, before}, {pos1, after}} {
		r := e.must(t, 200, account(auditor, c.at), "account as of "+c.at)
		asOf, _ := r.body["as_of"].(map[string]any)
		if asOf["position"] != c.at || asOf["recorded_at"] == nil {
			t.Errorf("as_of %v, want position %s", asOf, c.at)
		}
		delete(r.body, "as_of")
		got, _ := json.Marshal(r.body)
		want, _ := json.Marshal(c.live.body)
		if string(got) != string(want) {
			t.Errorf("the account as of %s:\n got %s\nwant %s", c.at, got, want)
		}
	}
	// By instant: now is after the phone change.
	if r := e.must(t, 200, account(auditor, time.Now().UTC().Format(time.RFC3339Nano)), "account now"); r.str("mobile_phone") != "+33612345678" {
		t.Errorf("the account as of now: %s", r.raw)
	}

	// Refusals.
	for _, c := range []struct {
		token, at string
		status    int
		code      string
	}{
		{caseworker, pos1, 403, "staff.role_forbidden"},
		{alice, pos1, 403, ""},
		{auditor, "hier", 422, "audit.invalid_at"},
		{auditor, "", 422, "audit.invalid_at"},
		{auditor, "2000-01-01T00:00:00Z", 422, "audit.at_before_first_event"},
		{auditor, "2999-01-01T00:00:00Z", 422, "audit.at_in_future"},
		{auditor, "99999999999999", 422, "audit.at_in_future"},
	} {
		r := account(c.token, c.at)
		if r.status != c.status || (c.code != "" && r.str("code") != c.code) || (c.status == 422 && r.str("field") != "at") {
			t.Errorf("at=%q: %d %s, want %d %s", c.at, r.status, r.raw, c.status, c.code)
		}
	}
	if r := e.call(t, "GET", "/v1/audit/members/"+uuid.NewString()+"/account?at="+pos1, auditor, nil); r.status != 404 {
		t.Errorf("an unknown member: %d %s", r.status, r.raw)
	}

	// Each read of the account is in Alice's access log, as the fund's internal control.
	deadline := time.Now().Add(15 * time.Second)
	for {
		log := e.must(t, 200, e.call(t, "GET", "/v1/me/accesses", alice, nil), "alice's log")
		list, _ := log.body["accesses"].([]any)
		n := 0
		for _, a := range list {
			if m := a.(map[string]any); m["purpose"] == "member.account.as_of" && m["role"] == "auditor" {
				n++
			}
		}
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's log holds %d audit reads, want 3: %s", n, log.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A queue before and after a submission.
	queue := func(at string) response {
		return e.must(t, 200, e.call(t, "GET", "/v1/audit/queues/sante-c2s?at="+url.QueryEscape(at), auditor, nil), "queue as of "+at)
	}
	if r := queue(pos1); r.body["queue"].(map[string]any)["open"] != float64(0) || len(r.body["cases"].([]any)) != 0 {
		t.Errorf("the queue before the submission: %s", r.raw)
	}
	ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}), "submit")
	var now response
	deadline = time.Now().Add(15 * time.Second)
	for {
		now = queue(time.Now().UTC().Format(time.RFC3339Nano))
		if cases, _ := now.body["cases"].([]any); len(cases) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the submitted case never shows in the queue as of now: %s", now.raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c := now.body["cases"].([]any)[0].(map[string]any)
	if c["request_id"] != ack.str("request_id") || now.body["queue"].(map[string]any)["open"] != float64(1) || now.body["next"] != nil {
		t.Errorf("the queue after the submission: %s", now.raw)
	}
	if r := e.call(t, "GET", "/v1/audit/queues/nulle-part?at="+pos1, auditor, nil); r.status != 404 {
		t.Errorf("an unknown queue: %d %s", r.status, r.raw)
	}
}
