package acceptance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/filecheck/filechecktest"
	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// upload is one file part of a deposit.
type upload struct {
	doc     int
	name    string
	content []byte
}

// deposit sends a multipart deposit: the JSON part "submission" then the files.
func (e *memberEnv) deposit(t *testing.T, token string, submission map[string]any, files []upload, hdr ...string) response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormField("submission")
	_ = json.NewEncoder(part).Encode(submission)
	for _, f := range files {
		// The declared type is always PDF, whatever the content: the server must judge the content.
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="documents[%d].files"; filename="%s"`, f.doc, f.name)}
		h["Content-Type"] = []string{"application/pdf"}
		p, _ := w.CreatePart(h)
		_, _ = p.Write(f.content)
	}
	_ = w.Close()
	req, _ := http.NewRequest("POST", e.srv.base+"/v1/document-submissions", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("deposit: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func docSpec(nature string) map[string]any {
	return map[string]any{"nature": nature, "person": "Alice Martin", "reason": "Pièce demandée par ma caisse"}
}

// blobFiles lists the files of the server's blob directory.
func (e *memberEnv) blobFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.srv.cmd.Dir, "var", "blobs", "sha256"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		out = append(out, filepath.Join(e.srv.cmd.Dir, "var", "blobs", "sha256", en.Name()))
	}
	return out
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestDocumentDepositAnswersInformation: a caseworker asks for information; the member answers with a deposit of a
// real PDF, JPEG and PNG; the confirmation lists every file with its size, type and SHA-256; the case's clock runs
// again as with the member's answer; the acknowledgement mail arrives; the files are sealed on disk; the caseworker
// reads them (recorded in the member's access log); another member can neither read nor link to them.
func TestDocumentDepositAnswersInformation(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin, map[string]any{"queues": []string{"sante-c2s"}}), "assign queue")
	ack := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}), "submit")
	reqID := ack.str("request_id")
	e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID, claire, nil, "X-Dossier-Min-Position", ack.header.Get("X-Dossier-Position")), "case visible")
	e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/claim", claire, nil), "claim")

	// Supporting documents before any information request: they join the case file.
	pdf := filechecktest.PDF("Avis d'imposition 2025 - Alice Martin")
	jpg, png := filechecktest.JPEG(120, 90), filechecktest.PNG(100, 80)
	answerBeforeAsk := e.deposit(t, alice, map[string]any{"subject": "information_answer", "request_id": reqID, "attestation": true,
		"documents": []any{docSpec("tax_notice")}}, []upload{{0, "avis.pdf", pdf}})
	if answerBeforeAsk.status != 422 || answerBeforeAsk.str("code") != "document.not_awaiting_information" {
		t.Fatalf("an answer while nothing is awaited: %d %s", answerBeforeAsk.status, answerBeforeAsk.raw)
	}
	supporting := e.must(t, 201, e.deposit(t, alice, map[string]any{"subject": "supporting_documents", "request_id": reqID, "attestation": true,
		"documents": []any{docSpec("bank_details")}}, []upload{{0, "rib.png", filechecktest.PNG(40, 30)}}), "supporting documents")
	if supporting.str("disposition") != "case_file" || supporting.str("case_id") != reqID {
		t.Fatalf("supporting documents: %s", supporting.raw)
	}
	deadline := time.Now().Add(10 * 24 * time.Hour).UTC().Format(time.RFC3339)
	info := e.must(t, 200, e.call(t, "POST", "/v1/cases/"+reqID+"/information-requests", claire,
		map[string]any{"items": []string{"Avis d'imposition 2025", "Justificatif de domicile"}, "deadline": deadline}), "request information")
	paused := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID, claire, nil, "X-Dossier-Min-Position", info.header.Get("X-Dossier-Position")), "paused case")
	if paused.str("status") != "awaiting_information" {
		t.Fatalf("case after the information request: %s", paused.raw)
	}

	// Bob cannot link his deposit to Alice's request.
	if r := e.deposit(t, bob, map[string]any{"subject": "information_answer", "request_id": reqID, "attestation": true,
		"documents": []any{docSpec("tax_notice")}}, []upload{{0, "avis.pdf", pdf}}); r.status != 404 || r.str("code") != "document.request_not_found" {
		t.Fatalf("bob linking to alice's request: %d %s", r.status, r.raw)
	}

	key := "5f0c3a2e-8d1b-4c6a-9e7f-0a1b2c3d4e5f"
	sub := map[string]any{"subject": "information_answer", "request_id": reqID, "attestation": true,
		"documents": []any{docSpec("tax_notice"), docSpec("proof_of_address")}}
	files := []upload{{0, "avis.pdf", pdf}, {1, "facture-p1.jpg", jpg}, {1, "facture-p2.png", png}}
	before := time.Now().Add(-time.Second)
	dep := e.must(t, 201, e.deposit(t, alice, sub, files, "Idempotency-Key", key), "deposit")
	docs, _ := dep.body["documents"].([]any)
	if len(docs) != 2 || !strings.HasPrefix(dep.str("reference"), "DOC-") || dep.str("status") != "registered" ||
		dep.str("disposition") != "information_answer" {
		t.Fatalf("confirmation: %s", dep.raw)
	}
	attested, err := time.Parse(time.RFC3339Nano, dep.str("attested_at"))
	if err != nil || attested.Before(before) || attested.After(time.Now().Add(time.Second)) {
		t.Fatalf("attestation moment %v: %s", err, dep.raw)
	}
	want := [][]struct {
		typ, sha string
		size     int
	}{
		{{"application/pdf", sha(pdf), len(pdf)}},
		{{"image/jpeg", sha(jpg), len(jpg)}, {"image/png", sha(png), len(png)}},
	}
	for i, d := range docs {
		fs := d.(map[string]any)["files"].([]any)
		if len(fs) != len(want[i]) {
			t.Fatalf("document %d files: %s", i, dep.raw)
		}
		for j, f := range fs {
			m := f.(map[string]any)
			if m["type"] != want[i][j].typ || m["sha256"] != want[i][j].sha || int(m["size"].(float64)) != want[i][j].size {
				t.Errorf("document %d file %d: %v, want %+v", i, j, m, want[i][j])
			}
		}
	}
	// The same key and content: the same deposit, nothing new stored.
	blobsAfter := len(e.blobFiles(t))
	again := e.must(t, 201, e.deposit(t, alice, sub, files, "Idempotency-Key", key), "retried deposit")
	if again.str("id") != dep.str("id") || len(e.blobFiles(t)) != blobsAfter {
		t.Fatalf("a retry made another deposit (%s vs %s) or stored files (%d → %d)", again.str("id"), dep.str("id"), blobsAfter, len(e.blobFiles(t)))
	}
	// The same key with other content is refused.
	if r := e.deposit(t, alice, sub, []upload{{0, "avis.pdf", pdf}, {1, "facture-p1.jpg", jpg}}, "Idempotency-Key", key); r.status != 422 || r.str("code") != "request.idempotency_key_reused" {
		t.Fatalf("the key reused for another deposit: %d %s", r.status, r.raw)
	}

	// The answer moved the legal clock as the member's answer does: the case runs again.
	resumed := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID, claire, nil, "X-Dossier-Min-Position", dep.header.Get("X-Dossier-Position")), "case after the deposit")
	if _, still := resumed.body["awaiting_since"]; still || resumed.str("status") != "claimed" {
		t.Fatalf("case after the deposit: the clock did not restart: %s", resumed.raw)
	}
	mine := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+reqID, alice, nil, "X-Dossier-Min-Position", dep.header.Get("X-Dossier-Position")), "alice's request")
	if mine.str("status") != "in_progress" || !strings.Contains(string(mine.raw), dep.str("reference")) ||
		!strings.Contains(string(mine.raw), `"documents":[{"id":"`+supporting.str("id")) || !strings.Contains(string(mine.raw), dep.str("id")) {
		t.Fatalf("alice's request after the deposit: %s", mine.raw)
	}

	// The acknowledgement of receipt by mail: the reference, no file name nor content.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs, err := e.smtp.WaitMatch(ctx, 1, func(m smtptest.Message) bool {
		return smtptest.To("alice@example.test")(m) && strings.Contains(m.Subject, "Accusé de réception de votre envoi") && strings.Contains(m.Text, dep.str("reference"))
	})
	if err != nil {
		t.Fatalf("acknowledgement mail: %v", err)
	}
	if m := msgs[0]; !strings.Contains(m.Text, dep.str("reference")) || !strings.Contains(m.Text, "2 document(s), 3 fichier(s)") ||
		strings.Contains(m.Text, "avis.pdf") || strings.Contains(m.Text, "Alice Martin") {
		t.Fatalf("acknowledgement mail:\n%s", m.Text)
	}

	// The member's list and deposit; Bob sees neither.
	list := e.must(t, 200, e.call(t, "GET", "/v1/document-submissions", alice, nil, "X-Dossier-Min-Position", dep.header.Get("X-Dossier-Position")), "alice's deposits")
	if l, _ := list.body["deposits"].([]any); len(l) != 2 || l[0].(map[string]any)["id"] != dep.str("id") {
		t.Fatalf("alice's deposits, the newest first: %s", list.raw)
	}
	e.must(t, 200, e.call(t, "GET", "/v1/document-submissions/"+dep.str("id"), alice, nil), "alice's deposit")
	if r := e.call(t, "GET", "/v1/document-submissions/"+dep.str("id"), bob, nil); r.status != 404 {
		t.Fatalf("bob reading alice's deposit: %d %s", r.status, r.raw)
	}
	if l := e.must(t, 200, e.call(t, "GET", "/v1/document-submissions", bob, nil), "bob's deposits"); strings.Contains(string(l.raw), dep.str("id")) {
		t.Fatalf("bob's list holds alice's deposit: %s", l.raw)
	}

	// On disk: sealed, under the SHA-256 of what is stored, never the file in clear.
	for _, f := range e.blobFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if sha(b) != filepath.Base(f) || bytes.Contains(b, []byte("Alice Martin")) || bytes.Equal(b, pdf) {
			t.Fatalf("blob %s is not sealed under its hash", f)
		}
	}

	// The caseworker reads the case's documents and a file: its real type, nosniff, attachment; recorded.
	caseDocs := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+reqID+"/documents", claire, nil), "case documents")
	if !strings.Contains(string(caseDocs.raw), dep.str("id")) {
		t.Fatalf("case documents: %s", caseDocs.raw)
	}
	fileURL := "/v1/cases/" + reqID + "/documents/" + dep.str("id") + "/1/0"
	got := e.call(t, "GET", fileURL, claire, nil)
	if got.status != 200 || !bytes.Equal(got.raw, jpg) || got.header.Get("Content-Type") != "image/jpeg" ||
		got.header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(got.header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("file content: %d %v", got.status, got.header)
	}
	if r := e.call(t, "GET", fileURL, bob, nil); r.status != 403 && r.status != 401 {
		t.Fatalf("a member on the staff file route: %d", r.status)
	}
	var log response
	until := time.Now().Add(15 * time.Second)
	for {
		log = e.must(t, 200, e.call(t, "GET", "/v1/me/accesses", alice, nil), "alice's access log")
		if strings.Contains(string(log.raw), "case.document\"") || strings.Contains(string(log.raw), `"case.document"`) {
			break
		}
		if time.Now().After(until) {
			t.Fatalf("the file opening never reached alice's access log: %s", log.raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDocumentDepositRefusals: every bad deposit gets its status and stable code, names the document and the file,
// and stores nothing (no blob, no deposit).
func TestDocumentDepositRefusals(t *testing.T) {
	e := startMemberEnv(t, "--deposit-max-body-bytes", "2600000", "--deposit-burst", "25", "--deposit-per-minute", "1", "--medical-service-address", "MSA Test, service médical, 1 rue du Test, 75000 Paris")
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	pdf := filechecktest.PDF("Relevé d'identité bancaire")
	one := func(nature string) map[string]any {
		return map[string]any{"subject": "other", "attestation": true, "documents": []any{docSpec(nature)}}
	}
	const mib = 1 << 20
	eleven := make([]any, 11)
	for i := range eleven {
		eleven[i] = docSpec("other")
	}
	big := filechecktest.PDFOfSize("RIB", mib)
	cases := []struct {
		name   string
		sub    map[string]any
		files  []upload
		status int
		code   string
		field  string
	}{
		{"text renamed .pdf", one("bank_details"), []upload{{0, "rib.pdf", []byte("ceci n'est pas un PDF")}}, 422, "document.file_type", "documents[0].files[0]"},
		{"truncated PNG", one("bank_details"), []upload{{0, "ok.pdf", pdf}, {0, "rib.png", filechecktest.Truncated(filechecktest.PNG(60, 60))}}, 422, "document.image_invalid", "documents[0].files[1]"},
		{"truncated JPEG", one("bank_details"), []upload{{0, "rib.jpg", filechecktest.Truncated(filechecktest.JPEG(60, 60))}}, 422, "document.image_invalid", "documents[0].files[0]"},
		{"PDF with JavaScript", one("bank_details"), []upload{{0, "rib.pdf", filechecktest.PDFWithJavaScript()}}, 422, "document.pdf_active_content", "documents[0].files[0]"},
		{"encrypted PDF", one("bank_details"), []upload{{0, "rib.pdf", filechecktest.EncryptedPDF("RIB", "")}}, 422, "document.pdf_encrypted", "documents[0].files[0]"},
		{"0-byte file", one("bank_details"), []upload{{0, "vide.pdf", nil}}, 422, "document.file_empty", "documents[0].files[0]"},
		{"one byte over", one("bank_details"), []upload{{0, "gros.pdf", filechecktest.PDFOfSize("RIB", mib+1)}}, 422, "document.file_too_large", "documents[0].files[0]"},
		{"medical nature", one("medical_certificate"), []upload{{0, "certificat.pdf", pdf}}, 422, "document.nature_medical", "documents[0].nature"},
		{"unknown nature", one("passport_of_the_moon"), []upload{{0, "x.pdf", pdf}}, 422, "document.nature_unknown", "documents[0].nature"},
		{"no attestation", map[string]any{"subject": "other", "attestation": false, "documents": []any{docSpec("other")}}, []upload{{0, "x.pdf", pdf}}, 422, "document.attestation_missing", "attestation"},
		{"no document", map[string]any{"subject": "other", "attestation": true, "documents": []any{}}, nil, 422, "document.count_invalid", "documents"},
		{"eleven documents", map[string]any{"subject": "other", "attestation": true, "documents": eleven}, nil, 422, "document.count_invalid", "documents"},
		{"a document without files", map[string]any{"subject": "other", "attestation": true, "documents": []any{docSpec("other"), docSpec("other")}}, []upload{{0, "x.pdf", pdf}}, 422, "document.file_count_invalid", "documents[1].files[0]"},
		{"six files", one("other"), []upload{{0, "1.pdf", pdf}, {0, "2.pdf", pdf}, {0, "3.pdf", pdf}, {0, "4.pdf", pdf}, {0, "5.pdf", pdf}, {0, "6.pdf", pdf}}, 422, "document.file_count_invalid", "documents[0].files[5]"},
		{"unknown subject", map[string]any{"subject": "gossip", "attestation": true, "documents": []any{docSpec("other")}}, []upload{{0, "x.pdf", pdf}}, 422, "document.subject_unknown", "subject"},
		{"body over the total limit", one("other"), []upload{{0, "1.pdf", big}, {0, "2.pdf", big}, {0, "3.pdf", big}}, 413, "document.body_too_large", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.deposit(t, alice, c.sub, c.files)
			if r.status != c.status || r.str("code") != c.code || r.str("field") != c.field || r.str("message") == "" {
				t.Fatalf("%d %s, want %d %s on %q", r.status, r.raw, c.status, c.code, c.field)
			}
			if strings.HasPrefix(c.field, "documents[0].files[") && !strings.HasPrefix(r.str("message"), "Document 1, fichier ") {
				t.Errorf("the refusal does not name the document and the file: %s", r.str("message"))
			}
			if c.code == "document.nature_medical" && !strings.Contains(r.str("message"), "1 rue du Test") {
				t.Errorf("the medical refusal does not give the medical service's address: %s", r.str("message"))
			}
			if n := len(e.blobFiles(t)); n != 0 {
				t.Errorf("a refused deposit left %d stored files", n)
			}
		})
	}
	// Exactly the limit is accepted; then the list holds that deposit only.
	ok := e.must(t, 201, e.deposit(t, alice, one("bank_details"), []upload{{0, "pile.pdf", filechecktest.PDFOfSize("RIB", mib)}}), "a file of exactly 1 MiB")
	list := e.must(t, 200, e.call(t, "GET", "/v1/document-submissions", alice, nil, "X-Dossier-Min-Position", ok.header.Get("X-Dossier-Position")), "list")
	if l, _ := list.body["deposits"].([]any); len(l) != 1 || list.body["next"] != nil {
		t.Fatalf("refused deposits were recorded: %s", list.raw)
	}
	// The list pages by the API contract: ?limit= from 1 to 200, an opaque ?cursor=.
	for _, q := range []string{"limit=0", "limit=201", "limit=x"} {
		if r := e.call(t, "GET", "/v1/document-submissions?"+q, alice, nil); r.status != 422 || r.str("code") != "page.invalid_limit" || r.str("field") != "limit" {
			t.Errorf("%s: %d %s", q, r.status, r.raw)
		}
	}
	if r := e.call(t, "GET", "/v1/document-submissions?cursor=bm9wZQ", alice, nil); r.status != 422 || r.str("code") != "page.invalid_cursor" || r.str("field") != "cursor" {
		t.Errorf("a cursor no page gave: %d %s", r.status, r.raw)
	}
	// A body that is not multipart/form-data: 415, nothing stored.
	if r := e.call(t, "POST", "/v1/document-submissions", alice, one("other")); r.status != 415 || r.str("code") != "document.multipart_required" {
		t.Errorf("a JSON deposit: %d %s", r.status, r.raw)
	}
	// Deposits are throttled per member: past the burst, 429 with Retry-After.
	throttled := false
	for i := 0; i < 30 && !throttled; i++ {
		r := e.deposit(t, alice, one("unknown"), []upload{{0, "x.pdf", pdf}})
		throttled = r.status == 429 && r.header.Get("Retry-After") != ""
	}
	if !throttled {
		t.Fatal("30 deposits at once were never throttled")
	}
}

// TestDepositIntakeAttachedToACase: "d'autres documents" wait in the intake queue; a caseworker attaches the
// deposit to a case of the same member (never to another member's), and it shows in the case's documents. On both
// read-model databases: the queue and the case's documents come from a projection.
func TestDepositIntakeAttachedToACase(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		var args []string
		if tg.Dialect == sqldb.Postgres {
			args = []string{"--postgres-url", tg.DSN}
		}
		depositIntakeStory(t, startMemberEnv(t, args...))
	})
}

func depositIntakeStory(t *testing.T, e *memberEnv) {
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin, map[string]any{"queues": []string{"sante-c2s"}}), "assign queue")
	aliceReq := e.must(t, 201, e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}), "alice submits").str("request_id")
	bobAck := e.must(t, 201, e.call(t, "POST", "/v1/requests", bob, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}), "bob submits")
	dep := e.must(t, 201, e.deposit(t, alice, map[string]any{"subject": "other", "attestation": true,
		"documents": []any{docSpec("family_record_book")}}, []upload{{0, "livret.png", filechecktest.PNG(90, 120)}}), "deposit")
	if dep.str("disposition") != "intake" {
		t.Fatalf("deposit: %s", dep.raw)
	}
	intake := e.must(t, 200, e.call(t, "GET", "/v1/document-intake", claire, nil, "X-Dossier-Min-Position", dep.header.Get("X-Dossier-Position")), "intake")
	aliceID := e.must(t, 200, e.call(t, "GET", "/v1/me", alice, nil), "alice's account").str("member_id")
	if !strings.Contains(string(intake.raw), dep.str("id")) || !strings.Contains(string(intake.raw), `"member_id":"`+aliceID) ||
		strings.Contains(string(intake.raw), "livret.png") || strings.Contains(string(intake.raw), "Alice Martin") {
		t.Fatalf("intake queue: %s", intake.raw)
	}
	e.must(t, 200, e.call(t, "GET", "/v1/cases/"+bobAck.str("request_id"), claire, nil, "X-Dossier-Min-Position", bobAck.header.Get("X-Dossier-Position")), "bob's case visible")
	if r := e.call(t, "POST", "/v1/document-intake/"+dep.str("id")+"/attachment", claire, map[string]string{"case_id": bobAck.str("request_id")}); r.status != 404 {
		t.Fatalf("attaching alice's deposit to bob's case: %d %s", r.status, r.raw)
	}
	att := e.must(t, 200, e.call(t, "POST", "/v1/document-intake/"+dep.str("id")+"/attachment", claire, map[string]string{"case_id": aliceReq}), "attach")
	docs := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+aliceReq+"/documents", claire, nil, "X-Dossier-Min-Position", att.header.Get("X-Dossier-Position")), "case documents")
	if !strings.Contains(string(docs.raw), dep.str("id")) || !strings.Contains(string(docs.raw), "livret.png") {
		t.Fatalf("the attached deposit is not in the case's documents: %s", docs.raw)
	}
	if docs.body["next"] != nil || intake.body["next"] != nil {
		t.Errorf("one page only, yet a next: %s %s", docs.raw, intake.raw)
	}
	if r := e.call(t, "GET", "/v1/document-intake?limit=201", claire, nil); r.status != 422 || r.str("code") != "page.invalid_limit" {
		t.Errorf("intake limit=201: %d %s", r.status, r.raw)
	}
	if r := e.must(t, 200, e.call(t, "GET", "/v1/document-intake", claire, nil), "intake after"); strings.Contains(string(r.raw), dep.str("id")) {
		t.Fatalf("the attached deposit is still in the intake queue: %s", r.raw)
	}
	mine := e.must(t, 200, e.call(t, "GET", "/v1/document-submissions/"+dep.str("id"), alice, nil), "alice's deposit")
	if mine.str("case_id") != aliceReq || mine.str("disposition") != "case_file" {
		t.Fatalf("alice's deposit after the attachment: %s", mine.raw)
	}

	// The intake's other way out: Claire opens a new case for Alice from another deposit.
	dep2 := e.must(t, 201, e.deposit(t, alice, map[string]any{"subject": "other", "attestation": true,
		"documents": []any{docSpec("tax_notice")}}, []upload{{0, "avis.pdf", filechecktest.PDF("Avis d'imposition")}}), "second deposit")
	openPath := "/v1/document-intake/" + dep2.str("id") + "/case"
	if r := e.call(t, "POST", openPath, claire, map[string]any{"service": "complementaire-sante-solidaire", "form": map[string]any{}},
		"X-Dossier-Min-Position", dep2.header.Get("X-Dossier-Position")); r.status != 422 || r.str("code") != "request.form_invalid" {
		t.Fatalf("opening a case with an empty form: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/v1/document-intake/"+uuid.NewString()+"/case", claire, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}); r.status != 404 {
		t.Fatalf("opening a case from no deposit: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", openPath, alice, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}); r.status != 401 && r.status != 403 {
		t.Fatalf("a member opening a case from the intake: %d %s", r.status, r.raw)
	}
	opened := e.must(t, 201, e.call(t, "POST", openPath, claire, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}), "open a case")
	caseID := opened.str("request_id")
	received, _ := time.Parse(time.RFC3339Nano, opened.str("received_at"))
	deposited, _ := time.Parse(time.RFC3339Nano, dep2.str("submitted_at"))
	if caseID == "" || caseID == aliceReq || opened.str("reference") == "" || deposited.IsZero() ||
		!received.Truncate(time.Microsecond).Equal(deposited.Truncate(time.Microsecond)) {
		t.Fatalf("the case opened from a deposit (received when deposited, %s): %s", dep2.str("submitted_at"), opened.raw)
	}
	// The normal lifecycle: the request's acknowledgement of receipt is mailed to Alice, with its reference.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := e.smtp.WaitMatch(ctx, 1, func(m smtptest.Message) bool {
		return smtptest.To("alice@example.test")(m) && strings.Contains(m.Subject, "Accusé de réception") &&
			strings.Contains(m.Text, opened.str("reference"))
	}); err != nil {
		t.Fatalf("the acknowledgement of the case opened from the deposit: %v", err)
	}
	again := e.must(t, 201, e.call(t, "POST", openPath, claire, map[string]any{"service": "complementaire-sante-solidaire", "form": c2sForm}), "open again")
	if again.str("request_id") != caseID {
		t.Fatalf("opening again opened another case: %s", again.raw)
	}
	pos := opened.header.Get("X-Dossier-Position")
	c := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+caseID, claire, nil, "X-Dossier-Min-Position", pos), "claire reads the new case")
	if c.str("member_id") != aliceID || c.str("queue") != "sante-c2s" {
		t.Fatalf("the new case: %s", c.raw)
	}
	if actor := stepOf(t, timelineOf(t, c), "submitted")["actor"].(map[string]any); actor["id"] != claireID {
		t.Fatalf("the new case was not filed by claire: %s", c.raw)
	}
	docs2 := e.must(t, 200, e.call(t, "GET", "/v1/cases/"+caseID+"/documents", claire, nil, "X-Dossier-Min-Position", pos), "new case documents")
	if !strings.Contains(string(docs2.raw), dep2.str("id")) || !strings.Contains(string(docs2.raw), "avis.pdf") {
		t.Fatalf("the deposit is not in the new case's file: %s", docs2.raw)
	}
	req := e.must(t, 200, e.call(t, "GET", "/v1/requests/"+caseID, alice, nil, "X-Dossier-Min-Position", pos), "alice reads the new request")
	if !strings.Contains(string(req.raw), dep2.str("id")) || strings.Contains(string(req.raw), claireID) || strings.Contains(string(req.raw), "Dupont") {
		t.Fatalf("alice's new request (its deposit, no staff id): %s", req.raw)
	}
	if r := e.call(t, "GET", "/v1/requests/"+caseID, bob, nil, "X-Dossier-Min-Position", pos); r.status != 404 {
		t.Fatalf("bob reads alice's new request: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/v1/document-intake/"+dep2.str("id")+"/attachment", claire, map[string]string{"case_id": aliceReq}); r.status != 422 || r.str("code") != "document.not_in_intake" {
		t.Fatalf("attaching a deposit that opened a case: %d %s", r.status, r.raw)
	}
}
