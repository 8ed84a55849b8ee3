package acceptance

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
)

// slotList lists the free slots of question-generale at the Lille agency between from and to.
func (e *memberEnv) slotList(t *testing.T, token string, from, to time.Time, hdr ...string) []map[string]any {
	t.Helper()
	q := url.Values{"theme": {"question-generale"}, "channel": {"agency"}, "agency": {"lille"},
		"from": {from.UTC().Format(time.RFC3339)}, "to": {to.UTC().Format(time.RFC3339)}}
	r := e.must(t, 200, e.call(t, "GET", "/v1/appointment-slots?"+q.Encode(), token, nil, hdr...), "list slots")
	list, _ := r.body["slots"].([]any)
	out := make([]map[string]any, len(list))
	for i, s := range list {
		out[i] = s.(map[string]any)
	}
	return out
}

func hasSlot(slots []map[string]any, start string) bool {
	for _, s := range slots {
		if s["start_at"] == start {
			return true
		}
	}
	return false
}

// waitNthMail waits for the n-th mail to addr whose subject contains subject.
func (e *memberEnv) waitNthMail(t *testing.T, addr, subject string, n int) smtptest.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs, err := e.smtp.WaitMatch(ctx, n, func(m smtptest.Message) bool {
		return smtptest.To(addr)(m) && strings.Contains(m.Subject, subject)
	})
	if err != nil {
		t.Fatalf("waiting for mail %q #%d to %s: %v", subject, n, addr, err)
	}
	return msgs[n-1]
}

// invitation finds the iCalendar attachment of a raw mail (MIME multipart, base64 or not) and parses it back with
// golang-ical; it returns the calendar and its one event.
func invitation(t *testing.T, raw []byte) (*ics.Calendar, *ics.VEvent) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		t.Fatalf("not a multipart mail (%v):\n%s", err, raw)
	}
	var body []byte
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no text/calendar part: %v\n%s", err, raw)
		}
		if !strings.HasPrefix(part.Header.Get("Content-Type"), "text/calendar") {
			continue
		}
		if disp := part.Header.Get("Content-Disposition"); !strings.Contains(disp, "rendez-vous-msa.ics") {
			t.Fatalf("attachment disposition %q", disp)
		}
		data, _ := io.ReadAll(part)
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(data)), ""))
			if err != nil {
				t.Fatal(err)
			}
		}
		body = data
		break
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse the .ics: %v\n%s", err, body)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events in the .ics", len(evs))
	}
	return cal, evs[0]
}

// TestAppointmentStory: a supervisor publishes a caseworker's availability; a member lists free slots (none on the
// public holidays of the period), books one (a concurrent booking of the same slot by another member gets 409),
// receives the confirmation with a valid .ics and the reminder, reschedules (the old slot is free again, the new
// one taken), cancels (free again); another member can neither see nor cancel it; bad inputs are refused with
// their codes; the caseworker sees the day.
// On both read-model databases: the slots, the lists and the calendars come from a projection.
func TestAppointmentStory(t *testing.T) {
	sqldbtest.EachTarget(t, func(t *testing.T, tg sqldbtest.Target) {
		// A reminder lead of 90 days makes every reminder due at once: the scheduler's clock is the real one.
		args := []string{"--appointment-reminder-lead", "2160h", "--deadline-check-interval", "200ms"}
		if tg.Dialect == sqldb.Postgres {
			args = append(args, "--postgres-url", tg.DSN)
		}
		appointmentStory(t, startMemberEnv(t, args...))
	})
}

func appointmentStory(t *testing.T, e *memberEnv) {
	alice := e.member(t, aliceNIR, aliceKey, "Martin", "Alice", "1985-03-12", "alice@example.test")
	bob := e.member(t, bobNIR, bobKey, "Le Gall", "Bob", "1992-11-03", "bob@example.test")
	supervisor, _ := e.staffMember(t, "s.martin", "Sophie Martin", "supervisor")
	claire, claireID := e.staffMember(t, "c.dupont", "Claire Dupont", "caseworker")

	paris := parisOr(t)
	today := time.Now().In(paris)
	var weekly []map[string]any
	for d := 1; d <= 5; d++ {
		weekly = append(weekly, map[string]any{"weekday": d, "start": "08:30", "end": "12:00"},
			map[string]any{"weekday": d, "start": "13:30", "end": "16:30"})
	}
	publish := map[string]any{"theme": "question-generale", "channel": "agency", "agency": "lille",
		"from_on": today.Format("2006-01-02"), "until_on": today.AddDate(0, 0, 80).Format("2006-01-02"), "weekly": weekly}
	// Only supervisors publish; outside the help hours is refused.
	if r := e.call(t, "POST", "/v1/staff/accounts/"+claireID+"/availability", claire, publish); r.status != 403 {
		t.Fatalf("a caseworker publishes: %d %s", r.status, r.raw)
	}
	bad := map[string]any{}
	for k, v := range publish {
		bad[k] = v
	}
	bad["weekly"] = []map[string]any{{"weekday": 1, "start": "12:00", "end": "14:00"}}
	if r := e.call(t, "POST", "/v1/staff/accounts/"+claireID+"/availability", supervisor, bad); r.status != 422 ||
		r.str("code") != "appointment.availability_invalid" {
		t.Fatalf("availability over lunch: %d %s", r.status, r.raw)
	}
	pub := e.must(t, 201, e.call(t, "POST", "/v1/staff/accounts/"+claireID+"/availability", supervisor, publish), "publish")
	pos := pub.header.Get("X-Dossier-Position")

	// Free slots over 60 days: some, none on a public holiday (25 December 2026 and 1 January 2027 fall on
	// Fridays; whichever holidays the period holds), all inside the help hours.
	all := e.slotList(t, alice, time.Now(), time.Now().AddDate(0, 0, 60), "X-Dossier-Min-Position", pos)
	if len(all) < 20 {
		t.Fatalf("only %d free slots", len(all))
	}
	holidays := map[string]bool{}
	for _, y := range []int{today.Year(), today.Year() + 1} {
		for _, d := range []string{"01-01", "05-01", "05-08", "07-14", "08-15", "11-01", "11-11", "12-25"} {
			holidays[fmt.Sprintf("%d-%s", y, d)] = true
		}
	}
	for _, d := range []string{"2026-04-06", "2026-05-14", "2026-05-25", "2027-03-29", "2027-05-06", "2027-05-17"} {
		holidays[d] = true
	}
	for _, s := range all {
		start, _ := time.Parse(time.RFC3339, s["start_at"].(string))
		p := start.In(paris)
		if holidays[p.Format("2006-01-02")] || p.Weekday() == time.Saturday || p.Weekday() == time.Sunday {
			t.Fatalf("a slot on a day without help hours: %v", s)
		}
		if m := p.Hour()*60 + p.Minute(); m < 8*60+30 || (m >= 12*60 && m < 13*60+30) || m >= 16*60+30 {
			t.Fatalf("a slot outside the help hours: %v", s)
		}
	}
	// Slots at least 26 hours ahead, so that cancelling is allowed.
	var future []string
	for _, s := range all {
		start, _ := time.Parse(time.RFC3339, s["start_at"].(string))
		if start.After(time.Now().Add(26 * time.Hour)) {
			future = append(future, s["start_at"].(string))
		}
	}
	s1, s2 := future[0], future[5]

	// Alice and Bob race for s1, ten requests each at once: exactly one booking, 19 clear refusals.
	book := func(tok, start string) map[string]any {
		return map[string]any{"theme": "question-generale", "channel": "agency", "agency": "lille", "start_at": start,
			"note": "Question sur mes cotisations " + tok[:4]}
	}
	const each = 10
	answers := make([]response, 2*each)
	tokens := []string{alice, bob}
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = e.call(t, "POST", "/v1/appointments", tokens[i%2], book(tokens[i%2], s1))
		}()
	}
	wg.Wait()
	var winner, loser string
	var booked response
	refused := 0
	for i, a := range answers {
		switch {
		case a.status == 201 && winner == "":
			winner, loser, booked = tokens[i%2], tokens[(i+1)%2], a
		case a.status == 409 && a.str("code") == "appointment.slot_taken" && a.str("message") != "":
			refused++
		default:
			t.Fatalf("concurrent booking %d answered %d %s", i, a.status, a.raw)
		}
	}
	if winner == "" || refused != 2*each-1 {
		t.Fatalf("%d refusals, a winner: %v; want one booking and %d refusals", refused, winner != "", 2*each-1)
	}
	winnerMail := "alice@example.test"
	if winner == bob {
		winnerMail = "bob@example.test"
	}
	id := booked.str("id")
	if booked.str("status") != "booked" || booked.str("start_at") != s1 || booked.str("agency_name") == "" {
		t.Fatalf("booking: %s", booked.raw)
	}
	// The same Idempotency-Key books once.
	key := "8d3c9a0e-2b7f-4c1d-9e6a-5f4b3c2d1e0f"
	first := e.must(t, 201, e.call(t, "POST", "/v1/appointments", loser, book(loser, s2), "Idempotency-Key", key), "book s2")
	again := e.must(t, 201, e.call(t, "POST", "/v1/appointments", loser, book(loser, s2), "Idempotency-Key", key), "book s2 again")
	if first.str("id") != again.str("id") {
		t.Fatalf("one key, two appointments: %s / %s", first.raw, again.raw)
	}

	// The confirmation mail carries a valid .ics, parsed back.
	confirmation := e.waitNthMail(t, winnerMail, "Confirmation de votre rendez-vous", 1)
	cal, ev := invitation(t, confirmation.Raw)
	startAt, err := ev.GetStartAt()
	want, _ := time.Parse(time.RFC3339, s1)
	if err != nil || !startAt.Equal(want) || !strings.HasPrefix(ev.Id(), id) {
		t.Fatalf("invitation: start %v (%v), want %v; uid %s, want %s…", startAt, err, want, ev.Id(), id)
	}
	if m := cal.CalendarProperties; len(m) == 0 || !strings.Contains(cal.Serialize(), "METHOD:REQUEST") {
		t.Fatalf("invitation without METHOD:REQUEST:\n%s", cal.Serialize())
	}
	if strings.Contains(string(confirmation.Raw), "Question sur mes cotisations") {
		t.Fatal("the member's note is in the mail")
	}
	// The reminder (due at once with this lead).
	e.waitNthMail(t, winnerMail, "Rappel", 1)

	// The slot is taken; the loser neither sees nor cancels nor moves the winner's appointment.
	pos = booked.header.Get("X-Dossier-Position")
	if hasSlot(e.slotList(t, winner, want.Add(-time.Minute), want.Add(time.Hour), "X-Dossier-Min-Position", pos), s1) {
		t.Fatal("a booked slot is still listed free")
	}
	theirs := e.must(t, 200, e.call(t, "GET", "/v1/appointments", loser, nil, "X-Dossier-Min-Position", pos), "loser's list")
	if strings.Contains(string(theirs.raw), id) {
		t.Fatalf("another member sees the appointment: %s", theirs.raw)
	}
	for _, path := range []string{"/cancellation", "/reschedule"} {
		r := e.call(t, "POST", "/v1/appointments/"+id+path, loser, map[string]string{"start_at": s2})
		if r.status != 404 || r.str("code") != "appointment.not_found" {
			t.Fatalf("another member's %s: %d %s", path, r.status, r.raw)
		}
	}
	// The reminder is in the list once the read model has its event (the mail came from the same event).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mine := e.must(t, 200, e.call(t, "GET", "/v1/appointments", winner, nil), "winner's list")
		if strings.Contains(string(mine.raw), id) && strings.Contains(string(mine.raw), `"reminded":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("winner's list: %s", mine.raw)
		}
	}

	// Bad input: the right status and code, nothing booked.
	s3 := future[10]
	for _, c := range []struct {
		body   map[string]any
		status int
		code   string
	}{
		{map[string]any{"theme": "astrologie", "channel": "agency", "agency": "lille", "start_at": s3}, 422, "appointment.theme_unknown"},
		{map[string]any{"theme": "question-generale", "channel": "agency", "agency": "paris", "start_at": s3}, 422, "appointment.agency_unknown"},
		{map[string]any{"theme": "question-generale", "channel": "agency", "agency": "lille", "start_at": s1}, 409, "appointment.slot_taken"},
		{map[string]any{"theme": "question-generale", "channel": "agency", "agency": "lille",
			"start_at": want.Add(7 * time.Minute).Format(time.RFC3339)}, 409, "appointment.slot_unavailable"},
		{map[string]any{"theme": "question-generale", "channel": "agency", "agency": "lille", "start_at": "demain"}, 422, "appointment.start_invalid"},
		{map[string]any{"theme": "question-generale", "channel": "agency", "agency": "lille", "start_at": s3,
			"note": strings.Repeat("é", 1001)}, 422, "appointment.note_invalid"},
	} {
		r := e.call(t, "POST", "/v1/appointments", winner, c.body)
		if r.status != c.status || r.str("code") != c.code || r.str("message") == "" {
			t.Fatalf("%v: %d %s, want %d %s", c.body, r.status, r.raw, c.status, c.code)
		}
		if c.code == "appointment.start_invalid" && r.str("field") != "start_at" {
			t.Fatalf("a bad start names field %q, want start_at", r.str("field"))
		}
	}
	// A malformed id is a bad request, as on every route; a well-formed unknown one is not found.
	for _, path := range []string{"/cancellation", "/reschedule"} {
		if r := e.call(t, "POST", "/v1/appointments/pas-un-uuid"+path, winner, map[string]string{"start_at": s3}); r.status != 400 ||
			r.str("code") != "request.invalid_id" {
			t.Fatalf("malformed id, %s: %d %s", path, r.status, r.raw)
		}
	}

	// Reschedule to s3: the new slot taken, the old one free again, a "déplacé" mail with SEQUENCE 1.
	moved := e.must(t, 200, e.call(t, "POST", "/v1/appointments/"+id+"/reschedule", winner, map[string]string{"start_at": s3}), "reschedule")
	if moved.str("start_at") != s3 || moved.str("id") != id {
		t.Fatalf("rescheduled: %s", moved.raw)
	}
	pos = moved.header.Get("X-Dossier-Position")
	free := e.slotList(t, winner, time.Now(), time.Now().AddDate(0, 0, 60), "X-Dossier-Min-Position", pos)
	if !hasSlot(free, s1) || hasSlot(free, s3) {
		t.Fatalf("after the reschedule: s1 free %v, s3 free %v", hasSlot(free, s1), hasSlot(free, s3))
	}
	_, ev = invitation(t, e.waitNthMail(t, winnerMail, "déplacé", 1).Raw)
	if at, _ := ev.GetStartAt(); !at.Equal(mustTime(t, s3)) || ev.GetProperty(ics.ComponentPropertySequence).Value != "1" {
		t.Fatalf("reschedule invitation: %v, sequence %v", at, ev.GetProperty(ics.ComponentPropertySequence))
	}

	// The caseworker sees the day; the outcome cannot be recorded before the start.
	day := mustTime(t, s3).In(paris).Format("2006-01-02")
	cal2 := e.must(t, 200, e.call(t, "GET", "/v1/staff/appointments?date="+day, claire, nil, "X-Dossier-Min-Position", pos), "staff day")
	if !strings.Contains(string(cal2.raw), id) || strings.Contains(string(cal2.raw), "cotisations") || cal2.str("date_on") != day {
		t.Fatalf("staff day: %s", cal2.raw)
	}
	e.must(t, 200, e.call(t, "GET", "/v1/agencies/lille/appointments?date="+day, supervisor, nil), "agency day")
	if r := e.call(t, "POST", "/v1/staff/appointments/"+id+"/outcome", claire, map[string]any{"held": true, "note": "ok"}); r.status != 422 ||
		r.str("code") != "appointment.not_started" {
		t.Fatalf("outcome before the start: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "GET", "/v1/staff/appointments", winner, nil); r.status != 401 && r.status != 403 {
		t.Fatalf("a member reads a staff day: %d", r.status)
	}

	// Cancel: s3 is free again; cancelling again changes nothing.
	c := e.must(t, 200, e.call(t, "POST", "/v1/appointments/"+id+"/cancellation", winner, nil), "cancel")
	free = e.slotList(t, winner, time.Now(), time.Now().AddDate(0, 0, 60), "X-Dossier-Min-Position", c.header.Get("X-Dossier-Position"))
	if !hasSlot(free, s3) || !hasSlot(free, s1) {
		t.Fatal("a cancelled appointment's slot is not free again")
	}
	e.waitNthMail(t, winnerMail, "Annulation", 1)
	if r := e.call(t, "POST", "/v1/appointments/"+id+"/reschedule", winner, map[string]string{"start_at": s1}); r.status != 422 ||
		r.str("code") != "appointment.not_booked" {
		t.Fatalf("moving a cancelled appointment: %d %s", r.status, r.raw)
	}

	// At most 3 future appointments per member.
	var three []string
	for i := range 3 {
		b := e.must(t, 201, e.call(t, "POST", "/v1/appointments", winner, book(winner, future[12+i])), "book")
		pos, three = b.header.Get("X-Dossier-Position"), append(three, b.str("id"))
	}
	// The member's list is paged: one by one, each appointment once, by start, and next null on the last page.
	whole := e.must(t, 200, e.call(t, "GET", "/v1/appointments", winner, nil, "X-Dossier-Min-Position", pos), "whole list")
	if list, _ := whole.body["appointments"].([]any); len(list) != 4 || whole.body["next"] != nil {
		t.Fatalf("the winner's list (1 cancelled, 3 booked): %s", whole.raw)
	}
	var starts []string
	for cursor, pages := "", 0; ; pages++ {
		if pages > 4 {
			t.Fatalf("more than 4 pages of one appointment: %v", starts)
		}
		path := "/v1/appointments?limit=1"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		page := e.must(t, 200, e.call(t, "GET", path, winner, nil), "a page")
		list, _ := page.body["appointments"].([]any)
		if len(list) != 1 {
			t.Fatalf("page %d: %s", pages, page.raw)
		}
		starts = append(starts, list[0].(map[string]any)["start_at"].(string))
		if page.body["next"] == nil {
			break
		}
		cursor, _ = page.body["next"].(string)
	}
	if len(starts) != 4 || starts[0] != s3 || starts[1] != future[12] || starts[3] != future[14] {
		t.Fatalf("paged starts %v, want %s then %v", starts, s3, future[12:15])
	}
	if r := e.call(t, "GET", "/v1/appointments?limit=0", winner, nil); r.status != 422 || r.str("code") != "page.invalid_limit" {
		t.Fatalf("limit=0: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/v1/appointments", winner, book(winner, future[16])); r.status != 422 || r.str("code") != "appointment.too_many" {
		t.Fatalf("a 4th appointment: %d %s", r.status, r.raw)
	}

	// Staff cancel for the member: not another caseworker; the caseworker of the appointment does, whatever the
	// notice; the member is mailed (the fund cancelled), the slot is free again and the member may book another.
	other, _ := e.staffMember(t, "o.petit", "Odile Petit", "caseworker")
	if r := e.call(t, "POST", "/v1/staff/appointments/"+three[0]+"/cancellation", other, nil); r.status != 403 ||
		r.str("code") != "appointment.not_assigned" {
		t.Fatalf("another caseworker cancels: %d %s", r.status, r.raw)
	}
	if r := e.call(t, "POST", "/v1/staff/appointments/"+three[0]+"/cancellation", winner, nil); r.status != 401 && r.status != 403 {
		t.Fatalf("a member on the staff route: %d %s", r.status, r.raw)
	}
	sc := e.must(t, 200, e.call(t, "POST", "/v1/staff/appointments/"+three[0]+"/cancellation", claire, nil), "staff cancels")
	e.must(t, 200, e.call(t, "POST", "/v1/staff/appointments/"+three[0]+"/cancellation", supervisor, nil), "cancelling again")
	if m := e.waitNthMail(t, winnerMail, "Annulation", 2); !strings.Contains(strings.ReplaceAll(m.Text, "\r\n", " "), "Nous avons dû annuler") {
		t.Fatalf("the staff cancellation's mail:\n%s", m.Text)
	}
	free = e.slotList(t, winner, time.Now(), time.Now().AddDate(0, 0, 60), "X-Dossier-Min-Position", sc.header.Get("X-Dossier-Position"))
	if !hasSlot(free, future[12]) {
		t.Fatal("a slot cancelled by staff is not free again")
	}
	e.must(t, 201, e.call(t, "POST", "/v1/appointments", winner, book(winner, future[16])), "another booking after the staff cancellation")
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
