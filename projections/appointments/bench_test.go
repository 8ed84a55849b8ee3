package appointments

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/sqldb"
	"github.com/msa-dossier/dossier/adapters/sqldb/sqldbtest"
	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/event"
	"github.com/msa-dossier/dossier/projections/projectionstest"
)

// BenchmarkFreeSlots200Staff lists the free slots of one theme at one agency over four weeks when 200 staff
// members publish availability for it (every weekday, both windows of the help hours, 30-minute slots: about
// 52,000 slots) and one slot in three is held (about 17,000 hold rows, a tenth of them released), and reports the
// p50 and p99 latency of one FreeSlots call (the goal: p99 ≤ 50 ms), on SQLite and on PostgreSQL.
//
//	go run ./tests/testenv -- go test -run '^$' -bench FreeSlots200Staff -benchtime 200x -v ./projections/appointments
func BenchmarkFreeSlots200Staff(b *testing.B) {
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, appointment.Paris) // a Monday
	to := from.AddDate(0, 0, 28)
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		db := sqldbtest.NewTarget(b, d).Open(b)
		p := projectionstest.Setup(b, db, New())
		var pos uint64
		var weekly []appointment.Period
		for wd := time.Monday; wd <= time.Friday; wd++ {
			weekly = append(weekly, appointment.Period{Weekday: wd, Start: "08:30", End: "12:00"},
				appointment.Period{Weekday: wd, Start: "13:30", End: "16:30"})
		}
		holds := 0
		for s := range 200 {
			staffID := uuid.New()
			a, err := appointment.Current().Validate(appointment.AvailabilityPublished{StaffID: staffID,
				Theme: "question-generale", Channel: appointment.ChannelAgency, Agency: "lille", From: "2026-03-01",
				Until: "2026-04-30", Weekly: weekly})
			if err != nil {
				b.Fatal(err)
			}
			h := projectionstest.NewHistory(appointment.AvailabilityCategory, &pos, from)
			h.Stream = event.NewStreamID(appointment.AvailabilityCategory, staffID)
			batch := []event.Envelope{h.Add(appointment.TypeAvailabilityPublished, a)}
			days := map[string]*projectionstest.History{}
			for i, slot := range a.Slots(from, to) {
				if (i+s)%3 != 0 {
					continue
				}
				key := slot.Start.In(appointment.Paris).Format(appointment.DateLayout)
				if days[key] == nil {
					days[key] = projectionstest.NewHistory(appointment.DayCategory, &pos, from)
					days[key].Stream = appointment.DayStream(staffID, slot.Start)
				}
				id := uuid.New()
				batch = append(batch, days[key].Add(appointment.TypeSlotHeld, appointment.SlotHeld{AppointmentID: id,
					StaffID: staffID, Theme: a.Theme, Channel: a.Channel, Agency: a.Agency, Start: slot.Start, End: slot.End}))
				if i%10 == 0 {
					batch = append(batch, days[key].Add(appointment.TypeSlotReleased, appointment.SlotReleased{
						AppointmentID: id, StaffID: staffID, Start: slot.Start, End: slot.End}))
				}
				holds++
			}
			projectionstest.Apply(b, db, p, batch...)
		}
		q := NewQueries(db)
		ctx := projectionstest.Ctx(b)
		b.Run(string(d), func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			n := 0
			cpu := cpuTime()
			for b.Loop() {
				t := time.Now()
				slots, err := q.FreeSlots(ctx, "question-generale", appointment.ChannelAgency, "lille", from, to)
				lat = append(lat, time.Since(t))
				if err != nil || len(slots) == 0 {
					b.Fatal(len(slots), err)
				}
				n = len(slots)
			}
			b.StopTimer()
			// CPU time per call (user + system, this process, PostgreSQL's excluded): on a shared machine the
			// wall-clock figures include waiting for a core.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(len(lat))/1e6, "cpu-ms/op")
			slices.Sort(lat)
			b.Logf("%s: 200 staff, %d holds, %d distinct free slot times", d, holds, n)
			b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
			b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)])/1e6, "p99-ms")
		})
	}
}

// cpuTime is the process's CPU time so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
