package acceptance

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/msa-dossier/dossier/adapters/sqldb"
)

// The personal values of the erasure story: each must be visible before the erasure, nowhere in the stored events,
// and nowhere in what the API answers after it (nor after a rebuild of every read model).
var erasureSecrets = []string{
	aliceNIR, "Martin", "Alice", "1985-03-12", "alice@example.test", "+33612345678", "17 chemin des Peupliers",
	"Quimperlé", "appelle plutôt le vendredi matin",
}

// TestPersonalDataSealedAndErased (issue 10): a member's journey — registration, address and phone changes, a
// request, a caseworker's free-text note, a decision — stores no personal value in clear in the event log (read raw
// through the official client); the API shows them; erasure is refused while a request is open or a legal hold is
// in force; once erased, the API, every read model and a full rebuild show "données effacées", the member directory
// no longer finds the NIR, and the member can no longer log in.
func TestPersonalDataSealedAndErased(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	e.must(t, 200, e.call(t, "PUT", "/v1/me/address", alice, map[string]string{"line1": "17 chemin des Peupliers",
		"postal_code": "29300", "city": "Quimperlé", "country": "FR", "effective_from": "2026-01-01"}), "address")
	e.must(t, 200, e.call(t, "PUT", "/v1/me/phone", alice, map[string]string{"mobile_phone": "06 12 34 56 78"}), "phone")
	me := e.must(t, 200, e.call(t, "GET", "/v1/me", alice, nil), "me")
	memberID := me.str("member_id")

	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin, map[string]any{"queues": []string{"sante-c2s"}}), "queues")
	ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}), "submit")
	reqID := ack.str("request_id")
	c := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID, claire, nil, "X-Dossier-Min-Position", ack.header.Get("X-Dossier-Position")), "case")
	claim := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/claim", claire, nil, "If-Match", c.header.Get("ETag")), "claim")
	note := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/notes", claire, map[string]string{"text": "Elle appelle plutôt le vendredi matin."},
		"If-Match", claim.header.Get("ETag")), "note")

	// The API shows the personal data to whom may read it.
	erase := func(ticket string, after ...string) response {
		return e.call(t, "POST", "/v1/staff/members/"+memberID+"/erasure", admin, map[string]string{"reason": "member_request", "ticket": ticket}, after...)
	}
	views := func(minPosition string) []response {
		t.Helper()
		return []response{
			e.must(t, 200, e.call(t, "GET", "/v1/staff/members/"+memberID, admin, nil, "X-Dossier-Min-Position", minPosition), "member (staff)"),
			e.must(t, 200, e.call(t, "GET", "/v1/staff/members?q=Martin", admin, nil, "X-Dossier-Min-Position", minPosition), "directory by name"),
			e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID, claire, nil, "X-Dossier-Min-Position", minPosition), "case file"),
		}
	}
	before := views(note.header.Get("X-Dossier-Position"))
	for _, want := range []string{"Martin", "alice@example.test", "Quimperlé"} {
		if !bytes.Contains(before[0].raw, []byte(want)) {
			t.Errorf("the member's record does not show %q before the erasure: %s", want, before[0].raw)
		}
	}
	if !bytes.Contains(before[2].raw, []byte("appelle plutôt le vendredi matin")) {
		t.Errorf("the case file does not show the note before the erasure: %s", before[2].raw)
	}
	byNIR := e.must(t, 200, e.call(t, "GET", "/v1/staff/members?q="+aliceNIR, admin, nil), "directory by NIR")
	if n := len(byNIR.body["members"].([]any)); n != 1 {
		t.Fatalf("directory by NIR before the erasure: %d members: %s", n, byNIR.raw)
	}

	// Nothing personal is stored in clear: every event of the log, data and metadata, read raw.
	raw := e.readAllRaw(t)
	for _, secret := range erasureSecrets {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the event log holds %q in clear", secret)
		}
	}

	// Refused while the request is open, and while a legal hold is in force.
	if r := erase("DPO-2026-0001"); r.status != 422 || r.str("code") != "member.open_requests" {
		t.Fatalf("erasure with an open request: %d %s", r.status, r.raw)
	}
	decided := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/decision", claire, map[string]any{"approved": true}), "decide")
	e.must(t, 200, e.call(t, "POST", "/v1/staff/members/"+memberID+"/legal-holds", admin, map[string]string{"ticket": "CTX-2026-0001", "reason": "litigation"}), "hold")
	if r := erase("DPO-2026-0001"); r.status != 422 || r.str("code") != "member.legal_hold" {
		t.Fatalf("erasure under a legal hold: %d %s", r.status, r.raw)
	}
	e.must(t, 200, e.call(t, "DELETE", "/v1/staff/members/"+memberID+"/legal-holds/CTX-2026-0001", admin, nil), "lift")

	// The open requests are counted in the requests read model: the erasure waits until it has seen the decision.
	erased := e.must(t, 200, erase("DPO-2026-0001", "X-Dossier-Min-Position", decided.header.Get("X-Dossier-Position")), "erase")
	e.waitReaction(t, "privacy.erase-keys", erased.str("position"))
	subjects, _ := erased.body["subjects"].([]any)
	if len(subjects) != 2 || subjects[0] != memberID {
		t.Fatalf("erasure subjects %v, want the member's and their registration's", erased.body["subjects"])
	}
	for _, s := range subjects {
		e.requireKeyDestroyed(t, s.(string))
	}
	checkErased := func(views []response) {
		t.Helper()
		for _, v := range views {
			for _, secret := range erasureSecrets {
				if bytes.Contains(v.raw, []byte(secret)) {
					t.Errorf("after the erasure the API still shows %q: %s", secret, v.raw)
				}
			}
		}
		if !bytes.Contains(views[0].raw, []byte("données effacées")) || !bytes.Contains(views[2].raw, []byte("données effacées")) {
			t.Errorf("the erased member's record and case file do not say \"données effacées\": %s\n%s", views[0].raw, views[2].raw)
		}
		if n := len(views[1].body["members"].([]any)); n != 0 {
			t.Errorf("the directory still finds the erased member by name: %s", views[1].raw)
		}
		if r := e.must(t, 200, e.call(t, "GET", "/v1/staff/members?q="+aliceNIR, admin, nil), "directory by NIR"); len(r.body["members"].([]any)) != 0 {
			t.Errorf("the directory still finds the erased member by NIR: %s", r.raw)
		}
	}
	checkErased(views(erased.str("position")))
	if r := e.call(t, "POST", "/v1/sessions", "", map[string]string{"nir": aliceNIR, "password": alicePassword}); r.status != 401 || r.str("code") != "auth.invalid_credentials" {
		t.Errorf("an erased member logs in: %d %s", r.status, r.raw)
	}
	// Nothing personal can be added about an erased person: a note on their closed case is refused, clearly.
	if r := e.call(t, "POST", "/v1/cases/"+reqID+"/notes", claire, map[string]string{"text": "Une dernière remarque."}); r.status != 422 || r.str("code") != "personal_data.erased" {
		t.Errorf("a note about an erased member: %d %s", r.status, r.raw)
	}

	// A full rebuild of every read model, from events whose keys are gone, shows the same: first while the server
	// runs (it rebuilds each projection beside its live rows at the operator's request, then swaps them in)…
	out := e.admin(t, nil, "projections", "rebuild", "--by", "ticket-erasure")
	if n := strings.Count(out, "swapped in:"); n < 10 {
		t.Errorf("an online rebuild beside the running server swapped %d projections in:\n%s", n, out)
	}
	if st := e.admin(t, nil, "projections", "status"); !strings.Contains(st, "rebuilt online") || !strings.Contains(st, "by ticket-erasure") {
		t.Errorf("projections status does not show the online rebuild:\n%s", st)
	}
	checkErased(views(""))
	// … then with the server stopped (rebuilt in place).
	dir := e.srv.cmd.Dir
	e.srv.stop(t)
	e.admin(t, nil, "projections", "rebuild")
	e.srv = startServeIn(t, dir, "--smtp-url", "smtp://"+e.smtp.Addr()+"?tls=none",
		"--mail-from", "Mon espace privé <ne-pas-repondre@msa.test>")
	e.srv.waitReady(t) // the staff sessions live in the database: they survive the restart
	checkErased(views(""))
}

// readAllRaw returns the data and metadata of every event of the server's log, concatenated, as stored.
func (e *memberEnv) readAllRaw(t *testing.T) []byte {
	t.Helper()
	client := e.nodeClient(t)
	defer client.Close()
	rs, err := client.ReadAll(context.Background(), esdb.ReadAllOptions{}, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out bytes.Buffer
	n := 0
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read $all: %v", err)
		}
		out.Write(ev.Event.Data)
		out.Write(ev.Event.UserMetadata)
		n++
	}
	if n < 20 {
		t.Fatalf("read %d events from $all, expected the whole story", n)
	}
	return out.Bytes()
}

// requireKeyDestroyed checks, in the key store of the server's read-model database, that subject's data key is gone
// and its tombstone is there.
func (e *memberEnv) requireKeyDestroyed(t *testing.T, subject string) {
	t.Helper()
	db, err := sqldb.Open(context.Background(), sqldb.SQLite, filepath.Join(e.srv.cmd.Dir, "var", "dossier.db"), sqldb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wrapped []byte
	var erasedAt sql.NullTime
	if err := db.QueryRowContext(context.Background(), `SELECT wrapped_key, erased_at FROM data_keys WHERE subject = ?`, subject).Scan(&wrapped, &erasedAt); err != nil {
		t.Fatalf("data key of %s: %v", subject, err)
	}
	if wrapped != nil || !erasedAt.Valid {
		t.Errorf("data key of %s not destroyed (%d bytes, erased_at %v)", subject, len(wrapped), erasedAt)
	}
}

var reactionLine = regexp.MustCompile(`(?m)^(\S+)\s+(\d+)\s`)

// waitReaction waits until reaction handler's checkpoint (dossier reactions status) has reached position.
func (e *memberEnv) waitReaction(t *testing.T, handler, position string) {
	t.Helper()
	want, err := strconv.ParseUint(position, 10, 64)
	if err != nil {
		t.Fatalf("position %q: %v", position, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := e.admin(t, nil, "reactions", "status")
		for _, m := range reactionLine.FindAllStringSubmatch(out, -1) {
			if got, _ := strconv.ParseUint(m[2], 10, 64); m[1] == handler && got >= want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("reaction %s did not reach %d within 30s:\n%s", handler, want, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
