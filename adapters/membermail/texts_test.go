package membermail

import (
	"testing"
	"time"
)

func TestFrenchDateTime(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[time.Time]string{
		time.Date(2025, 5, 28, 8, 5, 0, 0, time.UTC):   "mercredi 28 mai 2025 à 10 h 05", // summer time, UTC+2
		time.Date(2025, 5, 31, 22, 15, 0, 0, time.UTC): "dimanche 1er juin 2025 à 0 h 15",
		time.Date(2026, 2, 3, 16, 59, 0, 0, time.UTC):  "mardi 3 février 2026 à 17 h 59", // winter time, UTC+1
		time.Date(2025, 8, 15, 9, 0, 0, 0, time.UTC):   "vendredi 15 août 2025 à 11 h 00",
	} {
		if got := frenchDateTime(in.In(paris)); got != want {
			t.Errorf("frenchDateTime(%v) = %q, want %q", in, got, want)
		}
	}
}
