package acceptance

import (
	"bytes"
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

	"github.com/msa-dossier/dossier/adapters/filecheck/filechecktest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// messageWithFiles sends a multipart message: the JSON part "message" then each file as a part "attachments"
// (declared as a PDF whatever the content: the server judges the content).
func (e *memberEnv) messageWithFiles(t *testing.T, token, path string, message map[string]any, files []upload, hdr ...string) response {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, _ := w.CreateFormField("message")
	_ = json.NewEncoder(part).Encode(message)
	for _, f := range files {
		p, _ := w.CreatePart(map[string][]string{
			"Content-Disposition": {fmt.Sprintf(`form-data; name="attachments"; filename="%s"`, f.name)},
			"Content-Type":        {"application/pdf"}})
		_, _ = p.Write(f.content)
	}
	_ = w.Close()
	req, _ := http.NewRequest("POST", e.srv.base+path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return e.do(t, req)
}

// get sends a GET and keeps the raw body (a file).
func (e *memberEnv) get(t *testing.T, path, token string) response {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return e.do(t, req)
}

func (e *memberEnv) do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// TestConversationAttachments: a member writes to the fund with a real PDF and PNG (multipart); refused files (a
// scripted PDF, a renamed text file, a sixth file) are named in French and store nothing; the member reads the
// attachments of their message and downloads them (real type, nosniff, attachment); another member cannot; a
// caseworker of the queue downloads one, recorded in the member's access log; the member answers with another file.
// Then the blob sweep runs (grace 1 s, every 300 ms): an orphan planted in the blob directory is deleted, and every
// attachment is still there and served — the sweep asks the conversations read model, not only the deposits'.
// On both read-model databases.
func TestConversationAttachments(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		args := []string{"--blob-sweep-interval", "300ms", "--blob-sweep-grace", "1s"}
		if tg.Dialect == sqldb.Postgres {
			args = append(args, "--postgres-url", tg.DSN)
		}
		conversationAttachmentsStory(t, startMemberEnv(t, args...))
	})
}

func conversationAttachmentsStory(t *testing.T, e *memberEnv) {
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	admin, _ := e.staffMember(t, "a.leroy", "Anne Leroy", "admin")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	outsider, outsiderID := e.staffMember(t, "o.petit", "Odile Petit", "caseworker")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+claireID+"/queues", admin, map[string]any{"queues": []string{"retraite"}}), "assign claire")
	e.must(t, 200, e.call(t, "PUT", "/v1/staff/accounts/"+outsiderID+"/queues", admin, map[string]any{"queues": []string{"sante-c2s"}}), "assign the outsider")
	msg := map[string]any{"theme": "retraite", "subject": "Mon relevé", "body": "Voici mon relevé de carrière."}
	pdf, png := filechecktest.PDF("Relevé de carrière - Alice Martin"), filechecktest.PNG(60, 40)

	// Refusals: named, nothing stored, nothing recorded.
	refusals := []struct {
		name   string
		files  []upload
		status int
		code   string
		prefix string
	}{
		{"scripted PDF", []upload{{0, "releve.pdf", pdf}, {0, "script.pdf", filechecktest.PDFWithJavaScript()}}, 422, "document.pdf_active_content", "Pièce jointe 2 « script.pdf » : "},
		{"text renamed .pdf", []upload{{0, "note.pdf", []byte("bonjour, ceci n'est pas un PDF")}}, 422, "document.file_type", "Pièce jointe 1 « note.pdf » : "},
		{"six files", []upload{{0, "a.png", png}, {0, "b.png", png}, {0, "c.png", png}, {0, "d.png", png}, {0, "e.png", png}, {0, "f.png", png}}, 422, "conversation.attachment_count", "Pièce jointe 6 « f.png » : "},
		{"one byte over 1 Mo", []upload{{0, "gros.pdf", filechecktest.PDFOfSize("gros", 1<<20+1)}}, 422, "document.file_too_large", "Pièce jointe 1"},
	}
	for _, r := range refusals {
		got := e.messageWithFiles(t, alice, "/v1/conversations/with-attachments", msg, r.files)
		if got.status != r.status || got.str("code") != r.code || !strings.HasPrefix(got.str("message"), r.prefix) {
			t.Errorf("%s: %d %s", r.name, got.status, got.raw)
		}
	}
	if r := e.call(t, "POST", "/v1/conversations/with-attachments", alice, msg); r.status != 415 || r.str("code") != "conversation.multipart_required" {
		t.Errorf("a JSON body on the multipart route: %d %s", r.status, r.raw)
	}
	if files := e.blobFiles(t); len(files) != 0 {
		t.Fatalf("refused messages stored %v", files)
	}
	if list := e.must(t, 200, e.call(t, "GET", "/v1/conversations", alice, nil), "alice's list"); len(list.body["conversations"].([]any)) != 0 {
		t.Fatalf("refused messages recorded a conversation: %s", list.raw)
	}

	// A message with a PDF and a PNG.
	started := e.must(t, 201, e.messageWithFiles(t, alice, "/v1/conversations/with-attachments", msg,
		[]upload{{0, "releve.pdf", pdf}, {0, "photo.png", png}}, "Idempotency-Key", "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"), "start with files")
	id := started.str("id")
	again := e.must(t, 201, e.messageWithFiles(t, alice, "/v1/conversations/with-attachments", msg,
		[]upload{{0, "releve.pdf", pdf}, {0, "photo.png", png}}, "Idempotency-Key", "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"), "retry")
	if again.str("id") != id {
		t.Fatalf("a retry started another conversation: %s", again.raw)
	}
	if r := e.messageWithFiles(t, alice, "/v1/conversations/with-attachments", msg, []upload{{0, "releve.pdf", pdf}},
		"Idempotency-Key", "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"); r.status != 422 || r.str("code") != "request.idempotency_key_reused" {
		t.Errorf("the same key with other files: %d %s", r.status, r.raw)
	}
	conv := e.must(t, 200, e.call(t, "GET", "/v1/conversations/"+id, alice, nil), "alice reads")
	first := conv.body["messages"].([]any)[0].(map[string]any)
	atts, _ := first["attachments"].([]any)
	if len(atts) != 2 || atts[0].(map[string]any)["name"] != "releve.pdf" || atts[0].(map[string]any)["type"] != "application/pdf" ||
		atts[1].(map[string]any)["type"] != "image/png" || atts[0].(map[string]any)["sha256"] != sha(pdf) ||
		atts[1].(map[string]any)["size"] != float64(len(png)) {
		t.Fatalf("attachments as alice reads them: %s", conv.raw)
	}
	msgID := first["id"].(string)
	file := "/v1/conversations/" + id + "/messages/" + msgID + "/attachments/"
	got := e.get(t, file+"0", alice)
	if got.status != 200 || !bytes.Equal(got.raw, pdf) || got.header.Get("Content-Type") != "application/pdf" ||
		got.header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(got.header.Get("Content-Disposition"), "attachment;") ||
		strings.Contains(got.header.Get("Content-Disposition"), "releve") {
		t.Fatalf("alice downloads: %d %v", got.status, got.header)
	}
	if r := e.get(t, file+"0", bob); r.status != 404 || r.str("code") != "conversation.not_found" {
		t.Errorf("bob downloads alice's attachment: %d %s", r.status, r.raw)
	}
	if r := e.get(t, file+"2", alice); r.status != 404 || r.str("code") != "conversation.attachment_not_found" {
		t.Errorf("a third attachment: %d %s", r.status, r.raw)
	}
	for _, ev := range e.readStream(t, "conversation-"+id) {
		if strings.Contains(string(ev.Data), "releve.pdf") || strings.Contains(string(ev.Data), "Relevé") {
			t.Errorf("%s stores a file name or the subject in clear: %s", ev.EventType, ev.Data)
		}
	}

	// Staff: the caseworker of the queue downloads (recorded first); the outsider cannot.
	staffFile := "/v1/staff/conversations/" + id + "/messages/" + msgID + "/attachments/1"
	if r := e.get(t, staffFile, outsider); r.status != 403 {
		t.Errorf("outsider downloads: %d %s", r.status, r.raw)
	}
	if r := e.get(t, staffFile, claire); r.status != 200 || !bytes.Equal(r.raw, png) || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("claire downloads: %d %v", r.status, r.header)
	}
	opened := 0
	aliceID := e.must(t, 200, e.call(t, "GET", "/v1/me", alice, nil), "alice's account").str("member_id")
	for _, ev := range e.readStream(t, "memberaccess-"+aliceID) {
		if ev.EventType == "MemberDataOpenedByStaff" && strings.Contains(string(ev.Data), `"what":"conversation.attachment"`) {
			opened++
		}
	}
	if opened != 1 {
		t.Errorf("%d attachment openings in alice's access log, want 1", opened)
	}

	// Alice answers with another file.
	e.must(t, 201, e.messageWithFiles(t, alice, "/v1/conversations/"+id+"/messages/with-attachments",
		map[string]any{"body": "Et la page 2."}, []upload{{0, "page2.jpg", filechecktest.JPEG(50, 50)}}), "answer with a file")
	if r := e.messageWithFiles(t, bob, "/v1/conversations/"+id+"/messages/with-attachments",
		map[string]any{"body": "coucou"}, []upload{{0, "x.png", png}}); r.status != 404 {
		t.Errorf("bob writes with a file on alice's: %d %s", r.status, r.raw)
	}
	conv = e.must(t, 200, e.call(t, "GET", "/v1/conversations/"+id, alice, nil), "alice reads again")
	second := conv.body["messages"].([]any)[1].(map[string]any)
	if a, _ := second["attachments"].([]any); len(a) != 1 || a[0].(map[string]any)["type"] != "image/jpeg" {
		t.Fatalf("the answer's attachment: %s", conv.raw)
	}

	// The sweep: an orphan older than the grace goes; the attachments stay.
	orphan := filepath.Join(e.srv.cmd.Dir, "var", "blobs", "sha256", strings.Repeat("0", 64))
	if err := os.WriteFile(orphan, []byte("orphelin"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(orphan, old, old); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(orphan); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweep never deleted the orphan")
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // one more sweep at least, every attachment now past the grace
	for i, want := range [][]byte{pdf, png} {
		if r := e.get(t, file+fmt.Sprint(i), alice); r.status != 200 || !bytes.Equal(r.raw, want) {
			t.Errorf("attachment %d after the sweep: %d %s", i, r.status, r.raw)
		}
	}
	answer := "/v1/conversations/" + id + "/messages/" + second["id"].(string) + "/attachments/0"
	if r := e.get(t, answer, alice); r.status != 200 || r.header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("the answer's attachment after the sweep: %d %s", r.status, r.raw)
	}
}
