package acceptance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// racer is a member of the race, talking from their own loopback address (the per-address throttles of
// registrations and logins apply to each as to people at home, as adapters/loadgen does).
type racer struct {
	nir, key, email string
	client          *http.Client
	token           string
}

// raceNIRKey is a NIR's key: 97 − (the 13-digit body mod 97).
func raceNIRKey(body string) string {
	n, _ := strconv.ParseUint(body, 10, 64)
	return fmt.Sprintf("%02d", 97-n%97)
}

func newRacer(i int) *racer {
	body := fmt.Sprintf("2850375%03d%03d", 200+i/999, i%999+1) // women born in March 1985 in Paris
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 3, byte(i/250), byte(i%250+1))}}
	return &racer{nir: body, key: raceNIRKey(body), email: fmt.Sprintf("course%d@example.test", i),
		client: &http.Client{Timeout: 180 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}}
}

// call sends a JSON request from the racer's address to replica e, waiting out 429s as asked.
func (p *racer) call(t *testing.T, e *memberEnv, method, path string, body any, hdr ...string) response {
	t.Helper()
	for {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, e.srv.base+path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if p.token != "" {
			req.Header.Set("Authorization", "Bearer "+p.token)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := p.client.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v", method, path, err)
			return response{}
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(wait, 1)) * time.Second)
			continue
		}
		r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
		_ = json.Unmarshal(raw, &r.body)
		return r
	}
}

// retried sends a command again with the same Idempotency-Key while it answers 503 (the server busy): what a
// client does.
func (p *racer) retried(t *testing.T, e *memberEnv, method, path string, body any) response {
	t.Helper()
	key := uuid.NewString()
	for range 5 {
		r := p.call(t, e, method, path, body, "Idempotency-Key", key)
		if r.status != http.StatusServiceUnavailable {
			return r
		}
		time.Sleep(time.Second)
	}
	return p.call(t, e, method, path, body, "Idempotency-Key", key)
}

// enrol registers, activates and logs the racer in through the real flows (the code read from the mail).
func (p *racer) enrol(t *testing.T, e *memberEnv) bool {
	t.Helper()
	reg := p.retried(t, e, "POST", "/v1/registrations", registration(p.nir, p.key, "Martin", "Camille", "1985-03-12", p.email))
	if reg.status != 202 {
		t.Errorf("register %s: %d %s", p.email, reg.status, reg.raw)
		return false
	}
	act := p.retried(t, e, "POST", "/v1/registrations/"+reg.str("registration_id")+"/activation",
		map[string]string{"code": e.codeFor(t, p.email, 1), "password": alicePassword})
	if act.status != 201 {
		t.Errorf("activate %s: %d %s", p.email, act.status, act.raw)
		return false
	}
	s := p.retried(t, e, "POST", "/v1/sessions", map[string]string{"nir": p.nir, "password": alicePassword})
	p.token = s.str("token")
	if s.status != 201 || p.token == "" {
		t.Errorf("login %s: %d %s", p.email, s.status, s.raw)
		return false
	}
	return true
}

// TestAppointmentRaceAcrossTwoProcesses: 100 members race for 10 slots across two `dossier serve` processes on the
// same `dossier node` and PostgreSQL, half of them on each. Exactly 10 bookings are made, one per slot, and the 90
// others are refused with 409 appointment.slot_taken (every answer one or the other); each replica's read model then
// holds the 10 appointments and lists no free slot on that day. The members are registered through the real flows,
// each from its own loopback address.
func TestAppointmentRaceAcrossTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("two processes, 100 members: not in -short")
	}
	// Enrolment hashes two passwords per member (argon2id, costly on purpose): on a loaded machine a request may take
	// longer than the default 15 s. The race itself is not timed.
	t.Setenv("DOSSIER_REQUEST_TIMEOUT", "120s")
	c := startCluster(t)
	a := c.replicas[0]
	const members, slots = 100, 10

	racers := make([]*racer, members)
	var csv strings.Builder
	csv.WriteString("nir;nom;prénom;date_naissance\n")
	for i := range racers {
		racers[i] = newRacer(i)
		fmt.Fprintf(&csv, "%s%s;Martin;Camille;1985-03-12\n", racers[i].nir, racers[i].key)
	}
	file := filepath.Join(a.srv.cmd.Dir, "course.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	a.admin(t, nil, "admin", "import-insured", file)
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, p := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p.enrol(t, c.replicas[i%2])
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("100 members registered, activated and logged in across both replicas in %s", time.Since(start).Round(time.Second))

	// Ten slots of 15 minutes, 09:00–11:30 on one working day at least two days ahead, for one caseworker.
	supervisor, _ := a.staffMember(t, "s.martin", "Sophie Martin", "supervisor")
	_, claireID := a.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")
	paris := parisOr(t)
	day := time.Now().In(paris).AddDate(0, 0, 2)
	var free []map[string]any
	for tries := 0; len(free) != slots; tries++ {
		if tries > 10 {
			t.Fatalf("no day with %d slots: %v", slots, free)
		}
		for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
			day = day.AddDate(0, 0, 1)
		}
		on := day.Format("2006-01-02")
		pub := a.must(t, 201, a.call(t, "POST", "/v1/staff/accounts/"+claireID+"/availability", supervisor, map[string]any{
			"theme": "question-generale", "channel": "agency", "agency": "lille", "from_on": on, "until_on": on,
			"slot_minutes": 15, "weekly": []map[string]any{{"weekday": int(day.Weekday()), "start": "09:00", "end": "11:30"}}}), "publish")
		from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, paris)
		for _, e := range c.replicas { // both replicas' read models have the publication
			free = e.slotList(t, racers[0].token, from, from.AddDate(0, 0, 1), "X-Dossier-Min-Position", pub.header.Get("X-Dossier-Position"))
		}
		if len(free) != slots { // a public holiday: the next day
			day = day.AddDate(0, 0, 1)
		}
	}

	// The race: member i books slot i % 10 on replica i % 2, all at once.
	answers := make([]response, members)
	ready := make(chan struct{})
	for i, p := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-ready
			answers[i] = p.call(t, c.replicas[i%2], "POST", "/v1/appointments", map[string]any{"theme": "question-generale",
				"channel": "agency", "agency": "lille", "start_at": free[i%slots]["start_at"], "note": "Course"},
				"Idempotency-Key", uuid.NewString())
		}()
	}
	close(ready)
	wg.Wait()
	booked := map[string]int{}
	var refused, last int
	var pos string
	for i, r := range answers {
		switch {
		case r.status == 201:
			booked[r.str("start_at")]++
			if r.str("start_at") != free[i%slots]["start_at"] {
				t.Errorf("member %d booked %s, asked %s", i, r.str("start_at"), free[i%slots]["start_at"])
			}
			if p := r.header.Get("X-Dossier-Position"); len(p) > last || (len(p) == last && p > pos) {
				pos, last = p, len(p)
			}
		case r.status == 409 && r.str("code") == "appointment.slot_taken" && r.str("message") != "":
			refused++
		default:
			t.Errorf("member %d: %d %s", i, r.status, r.raw)
		}
	}
	if len(booked) != slots || refused != members-slots {
		t.Fatalf("%d slots booked (%v), %d refused: want %d and %d", len(booked), booked, refused, slots, members-slots)
	}
	for start, n := range booked {
		if n != 1 {
			t.Errorf("%s booked %d times", start, n)
		}
	}
	// Each replica's read model: ten members with one appointment each, the others with none.
	for i, e := range c.replicas {
		appointments := 0
		for _, p := range racers {
			list := p.call(t, e, "GET", "/v1/appointments", nil, "X-Dossier-Min-Position", pos)
			got, _ := list.body["appointments"].([]any)
			appointments += len(got)
		}
		if appointments != slots {
			t.Errorf("replica %d: %d appointments, want %d", i, appointments, slots)
		}
	}
	from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, paris)
	for i, e := range c.replicas {
		if left := e.slotList(t, racers[0].token, from, from.AddDate(0, 0, 1), "X-Dossier-Min-Position", pos); len(left) != 0 {
			t.Errorf("replica %d still lists %d free slots", i, len(left))
		}
	}
}
