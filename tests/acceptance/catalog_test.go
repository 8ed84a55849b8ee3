package acceptance

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/msa-dossier/dossier/domain/catalog/catalogtest"
)

// TestEveryCatalogRequestReachesItsQueue: for every service of kind "request" that GET /v1/catalog lists, the
// catalogue's invalid sample is refused with 422 naming each wrong field and records nothing, and its valid sample is
// acknowledged and lands in the queue the catalogue names (the confidential one read by a supervisor of the medical
// service). One server for all services.
func TestEveryCatalogRequestReachesItsQueue(t *testing.T) {
	e := startMemberEnv(t)
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	supervisor, _ := e.staffMember(t, "s.girard", "Sophie Girard", "supervisor,medical")

	var doc struct {
		Queues []struct {
			Code         string `json:"code"`
			Confidential bool   `json:"confidential"`
		} `json:"queues"`
		Services []struct {
			Code  string `json:"code"`
			Kind  string `json:"kind"`
			Queue string `json:"queue"`
		} `json:"services"`
	}
	cat := e.must(t, 200, e.call(t, "GET", "/v1/catalog", "", nil), "catalog")
	if err := json.Unmarshal(cat.raw, &doc); err != nil {
		t.Fatal(err)
	}
	confidential := false
	for _, q := range doc.Queues {
		confidential = confidential || q.Confidential
	}
	if !confidential {
		t.Fatal("the catalogue has no confidential queue: this test no longer covers the medical service")
	}

	type submitted struct{ service, queue, id string }
	var done []submitted
	var pos string
	for _, s := range doc.Services {
		if s.Kind != "request" {
			continue
		}
		sm, ok := catalogtest.For(s.Code)
		if !ok {
			t.Errorf("%s: no sample in catalogtest", s.Code)
			continue
		}
		// The invalid sample: 422, every wrong field named with its code.
		bad := e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": s.Code, "form": sm.InvalidForm()})
		if bad.status != 422 || bad.str("code") != "request.form_invalid" {
			t.Errorf("%s: invalid sample answered %d %s", s.Code, bad.status, bad.raw)
			continue
		}
		fields := map[string]string{}
		problems, _ := bad.body["fields"].([]any)
		for _, p := range problems {
			p := p.(map[string]any)
			fields[fmt.Sprint(p["field"])] = fmt.Sprint(p["code"])
			if fmt.Sprint(p["message"]) == "" {
				t.Errorf("%s: field %v has no message", s.Code, p["field"])
			}
		}
		for field, code := range sm.WantErrors {
			if fields[field] != code {
				t.Errorf("%s: field %s answered %q, want %q (%s)", s.Code, field, fields[field], code, bad.raw)
			}
		}
		// The valid sample: acknowledged.
		ack := e.call(t, "POST", "/v1/requests", alice, map[string]any{"service": s.Code, "form": sm.ValidForm()})
		if ack.status != 201 || !strings.HasPrefix(ack.str("reference"), "MSA-") {
			t.Errorf("%s: valid sample answered %d %s", s.Code, ack.status, ack.raw)
			continue
		}
		done = append(done, submitted{s.Code, s.Queue, ack.str("request_id")})
		pos = ack.header.Get("X-Dossier-Position")
	}
	if len(done) == 0 {
		t.Fatal("no request service submitted")
	}

	// Nothing recorded for the invalid samples: the member has exactly the valid ones.
	list := e.must(t, 200, e.call(t, "GET", "/v1/requests", alice, nil, "X-Dossier-Min-Position", pos), "alice's requests")
	if n := strings.Count(string(list.raw), `"reference"`); n != len(done) {
		t.Errorf("alice has %d requests, want the %d valid samples: %s", n, len(done), list.raw)
	}

	// Each valid sample waits in the queue the catalogue names.
	listed := map[string][]string{}
	for _, d := range done {
		if _, ok := listed[d.queue]; !ok {
			listed[d.queue] = caseIDs(t, e.must(t, 200, e.call(t, "GET", "/v1/queues/"+d.queue+"/cases", supervisor, nil,
				"X-Dossier-Min-Position", pos), "queue "+d.queue))
		}
		if !slices.Contains(listed[d.queue], d.id) {
			t.Errorf("%s: request %s not in queue %s: %v", d.service, d.id, d.queue, listed[d.queue])
		}
	}
}
