package nir_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/msa-dossier/dossier/domain/failure"
	"github.com/msa-dossier/dossier/domain/nir"
)

// FuzzParse: Parse and ParseLogin never panic; every error is a classified nir error with a French message; every
// NIR accepted has a key 01-97, prints redacted, and round-trips through its clear forms (Full for Parse, Body for
// ParseLogin; String is redacted on purpose and cannot round-trip).
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"1 85 03 75 115 042 16", "292112A00401759", "201052B03304262", "188099935004524", "2 95 06 971 20 034 49",
		"160339921600322", "258209910901157", "170072000401135", "185037511504217", "292112A00401732",
		"292112C00401759", "185137511504279", "585037511504210", "185030011504204", "18503751150420",
		"1850375115042166", "185037511504200", "1 85 03 75 115 042", "", "2a", "----", "1.85.03.75.115.042.16",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (nir.NIR, error){nir.Parse, nir.ParseLogin} {
			n, err := parse(s)
			if err != nil {
				if !n.IsZero() {
					t.Fatalf("error %v with a non-zero NIR", err)
				}
				if failure.KindOf(err) != failure.Invalid || !strings.HasPrefix(failure.CodeOf(err), "nir.") || !hasMessage(err) {
					t.Fatalf("error %v: kind %v code %q", err, failure.KindOf(err), failure.CodeOf(err))
				}
				continue
			}
			if k := n.Key(); k < 1 || k > 97 {
				t.Fatalf("key %d out of 01-97", k)
			}
			if len(n.Body()) != 13 || len(n.Full()) != 15 {
				t.Fatalf("body %d / full %d characters", len(n.Body()), len(n.Full()))
			}
			if m, err := nir.Parse(n.Full()); err != nil || m != n {
				t.Fatalf("Parse(Full()) = %v, %v", m.Redacted(), err)
			}
			if m, err := nir.ParseLogin(n.Body()); err != nil || m != n {
				t.Fatalf("ParseLogin(Body()) = %v, %v", m.Redacted(), err)
			}
			if r := n.String(); len(r) != 15 || strings.Contains(r, n.Body()[1:10]) {
				t.Fatalf("String() %q is not redacted", r)
			}
			if _, err := nir.Parse(n.Body() + "00"); !errors.Is(err, nir.ErrKey) {
				t.Fatalf("key 00 accepted: %v", err)
			}
		}
	})
}
