package acceptance

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/msa-dossier/dossier/domain/catalog"
)

// c2sForm is a valid "Demander la complémentaire santé solidaire" form (silence: acceptance after 2 months).
var c2sForm = map[string]any{"household_situation": "couple", "household_size": 3, "resources_12_months": 1420000,
	"housing": "tenant", "managing_body": "msa", "sworn_statement": true}

// member registers, activates and logs a member in; it returns the session token.
func (e *memberEnv) member(t *testing.T, nirBody, key, last, first, birth, email string) string {
	t.Helper()
	reg := e.must(t, 202, e.call(t, "POST", "/v1/registrations", "", registration(nirBody, key, last, first, birth, email)), "register")
	code := e.codeFor(t, email, 1)
	e.must(t, 201, e.call(t, "POST", "/v1/registrations/"+reg.str("registration_id")+"/activation", "",
		map[string]string{"code": code, "password": alicePassword}), "activate")
	return e.must(t, 201, e.call(t, "POST", "/v1/sessions", "", map[string]string{"nir": nirBody, "password": alicePassword}), "login").str("token")
}

// staffMember creates a staff account with the operator command and logs it in with password + TOTP.
func (e *memberEnv) staffMember(t *testing.T, login, name, role string) (token, id string) {
	t.Helper()
	const password = "un mot de passe de guichet tres long"
	out := e.admin(t, []byte(password+"\n"), "admin", "create-staff", "--login", login, "--name", name, "--role", role)
	secret := regexp.MustCompile(`TOTP secret: (\S+)`).FindStringSubmatch(out)
	staffID := regexp.MustCompile(`staff id: +(\S+)`).FindStringSubmatch(out)
	if secret == nil || staffID == nil {
		t.Fatalf("create-staff output:\n%s", out)
	}
	code, err := totp.GenerateCodeCustom(secret[1], time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	tok := e.must(t, 201, e.call(t, "POST", "/v1/staff/sessions", "", map[string]string{"login": login, "password": password, "totp": code}), "staff login "+login).str("token")
	return tok, staffID[1]
}

// TestServiceRequestStory: a member submits → the acknowledgement carries the implicit-decision date → a
// caseworker claims (a concurrent second claim gets 409) → requests information (the legal clock stops) → the
// member answers (it restarts) → decision → the member sees it.
func TestServiceRequestStory(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	paul, paulID := e.staffMember(t, "p.moreau", "Paul Moreau", "caseworker")
	outsider, _ := e.staffMember(t, "o.petit", "Odile Petit", "caseworker")
	for _, id := range []string{claireID, paulID} {
		e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+id+"/queues", admin, map[string]any{"queues": []string{"sante-c2s"}}), "assign queue")
	}

	// Submit twice with the same Idempotency-Key: one request.
	key := "6f1d2b7e-0c4e-4b8e-9a55-3f4b1c2d9e01"
	body := map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}
	ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, body, "Idempotency-Key", key), "submit")
	again := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, body, "Idempotency-Key", key), "submit again")
	reqID := ack.str("request_id")
	if again.str("request_id") != reqID || again.str("reference") != ack.str("reference") {
		t.Fatalf("same Idempotency-Key gave two requests: %s / %s", ack.raw, again.raw)
	}
	received, err := time.Parse(time.RFC3339Nano, ack.str("received_at"))
	if err != nil {
		t.Fatalf("received_at: %v (%s)", err, ack.raw)
	}
	implicit, err := time.Parse(time.RFC3339Nano, ack.str("implicit_decision_at"))
	if err != nil {
		t.Fatalf("implicit_decision_at: %v (%s)", err, ack.raw)
	}
	paris := received.In(parisOr(t))
	want := time.Date(paris.Year(), paris.Month()+2, paris.Day(), 0, 0, 0, 0, paris.Location())
	if paris.Day() > 28 && want.Month() != (paris.Month()+2-1)%12+1 {
		want = time.Date(paris.Year(), paris.Month()+3, 0, 0, 0, 0, 0, paris.Location()) // clamped to the month's end
	}
	// want is the last day of silence; the decision is acquired when it ends, at 00:00 of the next day in Paris.
	if !implicit.Equal(want.AddDate(0, 0, 1)) || ack.str("implicit_decision_on") != want.Format(time.DateOnly) ||
		ack.str("implicit_decision") != "acceptance" || !strings.HasPrefix(ack.str("reference"), "MSA-") {
		t.Fatalf("acknowledgement: implicit decision at %v, want the end of %v (2 months after receipt): %s", implicit, want, ack.raw)
	}
	// The acknowledgement also goes by email, and says the same: the same day (whose end is the API's instant) and
	// the same service in charge.
	ackMail := e.mailText(t, "alice@example.test", "Accusé de réception")
	office, _ := ack.body["service_in_charge"].(map[string]any)
	if office == nil || office["name"] == "" || office["email"] == "" || office["phone"] == "" || office["address"] == "" {
		t.Fatalf("acknowledgement without the service in charge (R112-5): %s", ack.raw)
	}
	for _, part := range []string{
		"à la fin de la journée du " + frenchDay(want) + ", votre demande sera réputée acceptée",
		fmt.Sprintf("Service chargé de votre demande :\n%s\n%s\nTéléphone : %s\nCourriel : %s", office["name"],
			office["address"], office["phone"], office["email"]),
		"ils recommencent alors en entier à partir du jour où nous les recevons", // L114-5 under acceptance
	} {
		if !strings.Contains(ackMail, part) {
			t.Fatalf("the acknowledgement mail lacks %q (API: %s):\n%s", part, ack.raw, ackMail)
		}
	}

	// Bob never sees Alice's request.
	if r := e.call(t, "GET", "/v1/requests/"+reqID, bob, nil); r.status != 404 {
		t.Fatalf("bob reads alice's request: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/v1/requests/"+reqID+"/withdrawal", bob, map[string]string{}); r.status != 404 {
		t.Fatalf("bob withdraws alice's request: %d %s", r.status, r.raw)
	}

	// Two caseworkers claim at once: exactly one wins, the other gets 409.
	c := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID, claire, nil, "X-Dossier-Min-Position", ack.header.Get("X-Dossier-Position")), "get case")
	etag := c.header.Get("ETag")
	claims := make([]response, 2)
	var wg sync.WaitGroup
	for i, tok := range []string{claire, paul} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			claims[i] = e.call(t, "POST", "/v1/cases/"+reqID+"/claim", tok, nil, "If-Match", etag)
		}()
	}
	wg.Wait()
	winner, claim, winnerID, loser := claire, claims[0], claireID, paul
	switch {
	case claims[0].status == 200 && claims[1].status == 409:
	case claims[0].status == 409 && claims[1].status == 200:
		winner, claim, winnerID, loser = paul, claims[1], paulID, claire
	default:
		t.Fatalf("concurrent claims answered %d and %d, want one 200 and one 409", claims[0].status, claims[1].status)
	}
	if lost := claims[0].str("code") + claims[1].str("code"); lost != "conflict" && lost != "servicerequest.already_claimed" {
		t.Fatalf("the lost claim answered %q, want conflict (If-Match) or servicerequest.already_claimed", lost)
	}
	// The shared If-Match decided that race. Without If-Match, the claim rule itself refuses a case someone holds,
	// and the case stays with its holder.
	if r := e.call(t, "POST", "/v1/cases/"+reqID+"/claim", loser, nil); r.status != 409 || r.str("code") != "servicerequest.already_claimed" {
		t.Fatalf("second claim without If-Match: %d %s, want 409 servicerequest.already_claimed", r.status, r.raw)
	}
	held := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID, winner, nil, "X-Dossier-Min-Position", claim.header.Get("X-Dossier-Position")), "case after the refused claim")
	if held.str("assignee_id") != winnerID || held.header.Get("ETag") != claim.header.Get("ETag") {
		t.Fatalf("after a refused claim the case is %s (ETag %s), want it with %s (ETag %s)", held.raw, held.header.Get("ETag"), winnerID, claim.header.Get("ETag"))
	}
	// Before any pause, the case shows the acknowledgement's implicit-decision day.
	if got, at := held.str("implicit_decision_on"), held.str("implicit_decision_at"); got != want.Format(time.DateOnly) ||
		got != ack.str("implicit_decision_on") || at != ack.str("implicit_decision_at") {
		t.Fatalf("case implicit decision on %q at %q before any pause, the acknowledgement said %s", got, at, ack.raw)
	}
	// The member's view says the same.
	view := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+reqID, alice, nil, "X-Dossier-Min-Position", claim.header.Get("X-Dossier-Position")), "alice reads her request")
	if view.str("implicit_decision_on") != ack.str("implicit_decision_on") || view.str("implicit_decision_at") != ack.str("implicit_decision_at") ||
		fmt.Sprint(view.body["service_in_charge"]) != fmt.Sprint(ack.body["service_in_charge"]) {
		t.Fatalf("the member's view and the acknowledgement differ:\n%s\n%s", view.raw, ack.raw)
	}
	// The claim answers with the case's new ETag (header, and revision in the body).
	claimETag := claim.header.Get("ETag")
	if claimETag == "" || claimETag == etag || claimETag != fmt.Sprintf("%q", fmt.Sprint(claim.body["revision"])) {
		t.Fatalf("claim: ETag %q (was %q), body %s", claimETag, etag, claim.raw)
	}
	// A caseworker outside the queue cannot act or read.
	if r := e.call(t, "POST", "/v1/cases/"+reqID+"/notes", outsider, map[string]string{"text": "test"}); r.status != 403 {
		t.Fatalf("outsider note: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/v1/queues/sante-c2s/cases", outsider, nil); r.status != 403 {
		t.Fatalf("outsider listing: %d %s", r.status, r.raw)
	}

	// Information requested: the member sees what is expected; the clock stops, then restarts on the answer.
	// The claim's ETag is good for the next change, without reading the case again.
	deadline := time.Now().Add(10 * 24 * time.Hour).UTC().Format(time.RFC3339)
	beforeInfo := time.Now()
	info := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/information-requests", winner,
		map[string]any{"items": []string{"Avis d'imposition 2025"}, "deadline": deadline}, "If-Match", claimETag), "request information with the claim's ETag")
	afterInfo := time.Now()
	infoETag := info.header.Get("ETag")
	if infoETag == "" || infoETag == claimETag {
		t.Fatalf("information request: ETag %q after %q", infoETag, claimETag)
	}
	// An old ETag is refused and changes nothing; the new one is the one the case is served with.
	if r := e.call(t, "POST", "/v1/cases/"+reqID+"/release", winner, nil, "If-Match", claimETag); r.status != 409 || r.str("code") != "conflict" {
		t.Fatalf("release with an old ETag: %d %s", r.status, r.raw)
	}
	paused := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID, winner, nil, "X-Dossier-Min-Position", info.header.Get("X-Dossier-Position")),
		"case after the information request")
	if got := paused.header.Get("ETag"); got != infoETag {
		t.Fatalf("GET /v1/cases/{id} ETag %q, the information request answered %q", got, infoETag)
	}
	// The legal clock stops: the case is awaiting information since the request for it.
	pausedSince, err := time.Parse(time.RFC3339Nano, paused.str("awaiting_since"))
	if err != nil || paused.str("status") != "awaiting_information" || pausedSince.Before(beforeInfo.Add(-time.Second)) || pausedSince.After(afterInfo.Add(time.Second)) {
		t.Fatalf("the clock did not stop at the information request (between %v and %v): %v %s", beforeInfo, afterInfo, err, paused.raw)
	}
	mine := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+reqID, alice, nil, "X-Dossier-Min-Position", info.header.Get("X-Dossier-Position")), "alice reads her request")
	if !strings.Contains(string(mine.raw), "Avis d'imposition 2025") {
		t.Fatalf("what is expected from the member is not shown: %s", mine.raw)
	}
	// The member is also told by mail, with what the request for pieces does to the period (L114-5, acceptance).
	if m := e.mailText(t, "alice@example.test", "Informations complémentaires"); !strings.Contains(m, "- Avis d'imposition 2025") ||
		!strings.Contains(m, "il recommencera alors en entier à partir du jour où nous les recevrons") {
		t.Fatalf("request for information mail:\n%s", m)
	}
	beforeAnswer := time.Now()
	answer := e.must(t, 200, e.call(t, "POST", "/v1/requests/"+reqID+"/information", alice, map[string]string{"what": "Avis envoyé par courrier"}), "answer")
	afterAnswer := time.Now()

	// The clock runs again. The service's silence means acceptance, so the period restarts whole from the day the
	// pieces came (CRPA L114-5): the answer's day in Paris + 2 months (clamped to the month's end), as
	// servicerequest.Clock counts it. The answer's instant is only known between two readings of the clock: an
	// answer across midnight may count either day.
	restarted := func(end time.Time) string {
		y, m, d := end.In(paris.Location()).Date()
		last := time.Date(y, m+3, 0, 0, 0, 0, 0, time.UTC).Day()
		return time.Date(y, m+2, min(d, last), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	wantDays := map[string]bool{restarted(beforeAnswer): true, restarted(afterAnswer): true}
	resumed := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID, winner, nil, "X-Dossier-Min-Position", answer.header.Get("X-Dossier-Position")), "case after the answer")
	if _, still := resumed.body["awaiting_since"]; still || resumed.str("status") != "claimed" || !wantDays[resumed.str("implicit_decision_on")] {
		t.Fatalf("case after the answer: want the clock running again and the implicit decision on %v: %s", wantDays, resumed.raw)
	}
	answered := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+reqID, alice, nil, "X-Dossier-Min-Position", answer.header.Get("X-Dossier-Position")), "alice's request after the answer")
	if !wantDays[answered.str("implicit_decision_on")] || answered.str("status") != "in_progress" {
		t.Fatalf("alice's request after the answer: want the implicit decision on %v: %s", wantDays, answered.raw)
	}

	// Decision; the member sees it.
	beforeDecision := time.Now()
	dec := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/decision", winner, map[string]any{"approved": true}), "decide")
	afterDecision := time.Now()
	final := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+reqID, alice, nil, "X-Dossier-Min-Position", dec.header.Get("X-Dossier-Position")), "alice reads the decision")
	d, _ := final.body["decision"].(map[string]any)
	decidedAt, err := time.Parse(time.RFC3339Nano, fmt.Sprint(d["decided_at"]))
	if d == nil || d["outcome"] != "approved" || err != nil || decidedAt.Before(beforeDecision.Add(-time.Second)) || decidedAt.After(afterDecision.Add(time.Second)) {
		t.Fatalf("decision shown to the member: %v (decided_at: %v), want approved between %v and %v: %s", d, err, beforeDecision, afterDecision, final.raw)
	}
	// The decision names its author (CRPA L212-1): the caseworker's name and default position; an approval has no
	// reason and no appeal.
	author, _ := d["author"].(map[string]any)
	winnerName := map[string]string{claire: "Claire Dupont", paul: "Paul Moreau"}[winner]
	if _, ok := d["reason"]; ok || len(d) != 3 || author == nil || author["name"] != winnerName ||
		author["position"] != "Gestionnaire de dossiers" {
		t.Fatalf("an approval with a reason or other fields, or without its author %q: %v", winnerName, d)
	}
	if final.str("status") != "approved" || final.str("closed_reason") != "decided" {
		t.Fatalf("request after the decision: %s", final.raw)
	}
	if _, ok := final.body["implicit_decision_on"]; ok {
		t.Fatalf("a decided request still announces an implicit decision: %s", final.raw)
	}
	// Deciding a closed case is refused and changes nothing.
	if r := e.call(t, "POST", "/v1/cases/"+reqID+"/decision", winner, map[string]any{"approved": false, "reason": "x"}); r.status != 422 || r.str("code") != "servicerequest.closed" {
		t.Fatalf("decision on a closed case: %d %s", r.status, r.raw)
	}
	if again := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+reqID, alice, nil), "alice reads the decision again"); string(again.raw) != string(final.raw) {
		t.Fatalf("a refused decision changed the request:\n%s\n%s", final.raw, again.raw)
	}
	// An invalid form names its fields and records nothing.
	bad := e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": "complementaire-sante-solidaire",
		"form": map[string]any{"household_size": "trois"}})
	if bad.status != 422 || bad.str("code") != "request.form_invalid" || !strings.Contains(string(bad.raw), `"fields"`) {
		t.Fatalf("invalid form: %d %s", bad.status, bad.raw)
	}
	if r := e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": "nope", "form": map[string]any{}}); r.status != 422 || r.str("code") != "catalog.unknown_service" {
		t.Fatalf("unknown service: %d %s", r.status, r.raw)
	}
	list := e.must(t, 200, e.call(t, "GET", "/v1/requests", alice, nil), "alice's requests")
	if n := strings.Count(string(list.raw), `"reference"`); n != 1 {
		t.Fatalf("alice has %d requests, want 1: %s", n, list.raw)
	}
}

// TestRequestWithoutImplicitDecision: a document delivered by right (attestations-pro, silence rule "none") is taken
// online; the acknowledgement, its mail, the member's view and the caseworker's case give the handling target and no
// implicit-decision date.
func TestRequestWithoutImplicitDecision(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin,
		map[string]any{"queues": []string{"pro-attestations"}}), "assign queue")

	ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": "attestations-pro",
		"form": map[string]any{"attestation_type": "affiliation-nsa", "year": 2026, "copies": 1}}), "submit")
	if _, ok := ack.body["implicit_decision_at"]; ok || ack.str("implicit_decision") != "none" ||
		ack.str("handling_due_at") == "" || !strings.HasPrefix(ack.str("reference"), "MSA-") {
		t.Fatalf("acknowledgement: %s", ack.raw)
	}
	reqID, pos := ack.str("request_id"), ack.header.Get("X-Dossier-Position")

	mine := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+reqID, alice, nil, "X-Dossier-Min-Position", pos), "alice reads her request")
	if _, ok := mine.body["implicit_decision_on"]; ok || mine.str("implicit_outcome") != "none" {
		t.Fatalf("member's request: %s", mine.raw)
	}
	c := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID, claire, nil, "X-Dossier-Min-Position", pos), "get case")
	if _, ok := c.body["implicit_decision_on"]; ok || c.str("silence_outcome") != "none" || c.str("due_on") == "" {
		t.Fatalf("case: %s", c.raw)
	}

	// The acknowledgement mail says that no implicit decision arises.
	deadline := time.Now().Add(20 * time.Second)
	for {
		found := false
		for _, m := range e.smtp.Messages() {
			if strings.Contains(strings.Join(m.To, ","), "alice@example.test") && strings.Contains(m.Subject, "Accusé de réception") {
				if !strings.Contains(m.Text, "Cette demande ne donne pas lieu à une décision implicite") ||
					strings.Contains(m.Text, "réputée") {
					t.Fatalf("acknowledgement mail:\n%s", m.Text)
				}
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no acknowledgement mail to alice@example.test")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func parisOr(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatalf("Europe/Paris: %v", err)
	}
	return loc
}

// mailText waits for the first mail to addr whose subject contains s and returns its text (line ends "\n").
func (e *memberEnv) mailText(t *testing.T, addr, s string) string {
	t.Helper()
	return strings.ReplaceAll(e.waitNthMail(t, addr, s, 1).Text, "\r\n", "\n")
}

// frenchDay writes a day as the mails do: "samedi 6 février 2027", "lundi 1er juin 2026".
func frenchDay(t time.Time) string {
	days := []string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	months := []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
		"novembre", "décembre"}
	d := fmt.Sprint(t.Day())
	if t.Day() == 1 {
		d = "1er"
	}
	return fmt.Sprintf("%s %s %s %d", days[t.Weekday()], d, months[t.Month()-1], t.Year())
}

// TestRejectionShowsAppealRoutesAndAuthor: a rejection, as the member reads it (the request and the list), names
// its author and position (CRPA L212-1), gives the appeal routes of the service's catalog version and the last day
// to seize the CRA (2 months from the notification of the decision letter: pending until then).
func TestRejectionShowsAppealRoutesAndAuthor(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin, map[string]any{"queues": []string{"sante-c2s"}}), "assign queue")
	ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}), "submit")
	reqID := ack.str("request_id")
	claim := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/claim", claire, nil, "X-Dossier-Min-Position", ack.header.Get("X-Dossier-Position")), "claim")
	dec := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/decision", claire,
		map[string]any{"approved": false, "reason": "Ressources supérieures au plafond."}, "If-Match", claim.header.Get("ETag")), "reject")
	pos := dec.header.Get("X-Dossier-Position")

	svc, err := catalog.Current().Lookup("complementaire-sante-solidaire")
	if err != nil {
		t.Fatal(err)
	}
	mine := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+reqID, alice, nil, "X-Dossier-Min-Position", pos), "alice reads the rejection")
	list := e.must(t, 200, e.call(t, "GET", "/v1/requests", alice, nil, "X-Dossier-Min-Position", pos), "alice lists her requests")
	rows, _ := list.body["requests"].([]any)
	if len(rows) != 1 {
		t.Fatalf("list: %s", list.raw)
	}
	for name, view := range map[string]map[string]any{"request": mine.body, "list row": rows[0].(map[string]any)} {
		d, _ := view["decision"].(map[string]any)
		author, _ := d["author"].(map[string]any)
		appeal, _ := d["appeal"].(map[string]any)
		if d == nil || d["outcome"] != "rejected" || author == nil || author["name"] != "Claire Dupont" ||
			author["position"] != "Gestionnaire de dossiers" || appeal == nil {
			t.Fatalf("%s: decision %v", name, d)
		}
		routes, _ := appeal["routes"].([]any)
		if len(routes) != len(svc.AppealRoutes) || len(routes) == 0 {
			t.Fatalf("%s: appeal routes %v, want the catalog's %q", name, routes, svc.AppealRoutes)
		}
		for i, r := range routes {
			if r != svc.AppealRoutes[i] {
				t.Fatalf("%s: appeal route %d = %q, want %q", name, i, r, svc.AppealRoutes[i])
			}
		}
		// The time to appeal runs from the decision letter's notification (its first opening, or 15 days after it
		// was made available): pending until then, the decision's date is not the notification
		// (TestInboxDecisionLetter asserts the deadline after the first opening).
		if appeal["notification"] != "pending" || appeal["notified_at"] != nil || appeal["cra_deadline_on"] != nil ||
			appeal["cra_deadline_at"] != nil {
			t.Fatalf("%s: appeal %v before the letter's notification", name, appeal)
		}
	}
}

// assertAppealFrom checks that a rejected request's appeal runs from notified: notified_at, and the CRA deadline's
// last day 2 months later (clamped to the month's end) in Paris, ending at 00:00 the next day.
func assertAppealFrom(t *testing.T, view map[string]any, notified time.Time, how string) {
	t.Helper()
	d, _ := view["decision"].(map[string]any)
	appeal, _ := d["appeal"].(map[string]any)
	got, err1 := time.Parse(time.RFC3339Nano, fmt.Sprint(appeal["notified_at"]))
	end, err2 := time.Parse(time.RFC3339Nano, fmt.Sprint(appeal["cra_deadline_at"]))
	if err1 != nil || err2 != nil || !got.Truncate(time.Microsecond).Equal(notified.Truncate(time.Microsecond)) ||
		appeal["notification"] != how {
		t.Fatalf("appeal %v, want notified at %v (%s)", appeal, notified, how)
	}
	y, m, day := notified.In(parisOr(t)).Date()
	last := time.Date(y, m+2, min(day, time.Date(y, m+3, 0, 0, 0, 0, 0, time.UTC).Day()), 0, 0, 0, 0, parisOr(t))
	if appeal["cra_deadline_on"] != last.Format(time.DateOnly) || !end.Equal(last.AddDate(0, 0, 1)) {
		t.Fatalf("CRA deadline %v / %v, want the end of %v (2 months after %v)", appeal["cra_deadline_on"], end, last, notified)
	}
}

// TestConsultations: facts from the fund's other systems (imported here, as the embedded default does) are read by
// their member only; an invoice is paid once whatever the retries.
func TestConsultations(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	csv := "kind;nir;id;label;payment_kind;period_start;period_end;days;gross_cents;net_cents;amount_cents;paid_on;due_on\n" +
		"statement;" + aliceNIR + aliceKey + ";IJ-1;;;2026-01-05;2026-01-18;14;64540;60010;;2026-01-25;\n" +
		"payment;" + aliceNIR + aliceKey + ";PF-1;Allocations familiales;family_benefits;;;;;;14172;2025-12-05;\n" +
		"invoice;" + aliceNIR + aliceKey + ";F-1;Cotisations T1;;;;;;;123456;;2026-04-15\n"
	path := filepath.Join(e.srv.cmd.Dir, "finance.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	e.admin(t, nil, "admin", "import-finance", path)

	deadline := time.Now().Add(20 * time.Second)
	var invoices response
	for {
		invoices = e.must(t, 200, e.call(t, "GET", "/v1/invoices", alice, nil), "alice's invoices")
		if strings.Contains(string(invoices.raw), "F-1") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(string(invoices.raw), "F-1") {
		t.Fatalf("imported invoice not visible: %s", invoices.raw)
	}
	for path, want := range map[string]string{"/v1/payments": "PF-1", "/v1/daily-allowance-statements": "IJ-1"} {
		if r := e.must(t, 200, e.call(t, "GET", path, alice, nil), path); !strings.Contains(string(r.raw), want) {
			t.Fatalf("%s: %s", path, r.raw)
		}
		if r := e.must(t, 200, e.call(t, "GET", path, bob, nil), path+" for bob"); strings.Contains(string(r.raw), want) {
			t.Fatalf("bob sees alice's %s: %s", path, r.raw)
		}
	}
	key := "0b7f4c2a-6d1e-4f3b-9c8a-2e5d7f1a3b4c"
	first := e.must(t, 200, e.call(t, "POST", "/v1/invoices/F-1/payment", alice, map[string]string{"method": "card"}, "Idempotency-Key", key), "pay")
	retry := e.must(t, 200, e.call(t, "POST", "/v1/invoices/F-1/payment", alice, map[string]string{"method": "card"}, "Idempotency-Key", key), "pay again, same key")
	if first.str("position") != retry.str("position") {
		t.Fatalf("a retried payment acted twice: %s / %s", first.raw, retry.raw)
	}
	if r := e.call(t, "POST", "/v1/invoices/F-1/payment", alice, map[string]string{"method": "card"}); r.status != 422 {
		t.Fatalf("paying a paid invoice: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/v1/invoices/F-1/payment", bob, map[string]string{"method": "card"}); r.status != 404 {
		t.Fatalf("bob pays alice's invoice: %d %s", r.status, r.raw)
	}
	paid := e.must(t, 200, e.call(t, "GET", "/v1/invoices", alice, nil, "X-Dossier-Min-Position", first.header.Get("X-Dossier-Position")), "invoices after payment")
	if !strings.Contains(string(paid.raw), `"paid":true`) {
		t.Fatalf("invoice not shown as paid: %s", paid.raw)
	}
	e.must(t, 201, e.call(t, "POST", "/v1/payment-attestations", alice, map[string]int{"year": 2025}), "payment attestation")
}

// TestLapsedInformationDeadlineClosesTheCase: when the member does not answer by the deadline, the scheduled
// reaction closes the case; the member sees it lapsed and it leaves the queue.
func TestLapsedInformationDeadlineClosesTheCase(t *testing.T) {
	e := startMemberEnv(t, "--deadline-check-interval", "200ms")
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin, map[string]any{"queues": []string{"sante-c2s"}}), "assign queue")
	ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}), "submit")
	id := ack.str("request_id")
	e.must(t, 200, e.call(t, "GET", "/v1/cases/"+id, claire, nil, "X-Dossier-Min-Position", ack.header.Get("X-Dossier-Position")), "case visible")
	e.must(t, 200, e.call(t, "POST", "/v1/cases/"+id+"/claim", claire, nil), "claim")
	deadline := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	e.must(t, 200, e.call(t, "POST", "/v1/cases/"+id+"/information-requests", claire,
		map[string]any{"items": []string{"Avis d'imposition 2025"}, "deadline": deadline}), "request information")

	until := time.Now().Add(30 * time.Second)
	for {
		r := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+id, alice, nil), "alice's request")
		if r.str("status") == "lapsed" && r.str("closed_reason") == "lapsed" {
			break
		}
		if time.Now().After(until) {
			t.Fatalf("the case did not lapse 28 s after its deadline: %s", r.raw)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cases := e.must(t, 200, e.call(t, "GET", "/v1/queues/sante-c2s/cases", claire, nil), "queue")
	if strings.Contains(string(cases.raw), id) {
		t.Fatalf("a lapsed case is still in the queue: %s", cases.raw)
	}
	if r := e.call(t, "POST", "/v1/requests/"+id+"/information", alice, map[string]string{"what": "trop tard"}); r.status != 422 {
		t.Fatalf("answering a lapsed request: %d %s", r.status, r.raw)
	}
}
