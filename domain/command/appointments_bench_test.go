package command_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/domain/appointment"
	"github.com/msa-dossier/dossier/domain/command"
)

// BenchmarkApptBooking50Members: rounds of 50 members booking at once, each a different slot, against the real
// (in-memory) node through the official client; 10 staff members publish every weekday of March 2026, so a round's
// slots are spread over their days and a few members share a staff day (and race on its stream). Reports the p50
// and p99 latency of one booking. The offers are read from the availability streams (apptOffers: ten stream reads
// per booking, more than the read model's one query).
//
//	go test -run '^$' -bench ApptBooking50Members -benchtime 20x ./domain/command
func BenchmarkApptBooking50Members(b *testing.B) {
	f := newApptBenchFixture(b)
	var starts []time.Time
	day := time.Date(2026, 3, 3, 0, 0, 0, 0, appointment.Paris)
	for d := 0; d < 28; d++ {
		dd := day.AddDate(0, 0, d)
		if !appointment.WorkingDay(dd) {
			continue
		}
		for m := 8*60 + 30; m+30 <= 12*60; m += 30 {
			starts = append(starts, appointment.At(dd, m).UTC())
		}
	}
	var (
		mu  sync.Mutex
		lat []time.Duration
	)
	round := 0
	for b.Loop() {
		var wg sync.WaitGroup
		for i := range 50 {
			start := starts[(round*50+i)%len(starts)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				_, err := f.h.Book(b.Context(), command.Meta{CorrelationID: uuid.New()}, uuid.New(), apptBook(start))
				d := time.Since(t0)
				if err != nil {
					b.Error(err)
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}()
		}
		wg.Wait()
		round++
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)])/1e6, "p99-ms")
}
