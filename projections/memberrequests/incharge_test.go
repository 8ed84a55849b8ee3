package memberrequests

import (
	"encoding/json"
	"fmt"
	"testing"

	sr "github.com/msa-dossier/dossier/domain/servicerequest"
)

func TestServicesInChargeAreDecodedOnceAndTheCacheStaysBounded(t *testing.T) {
	c := inChargeCache{max: 2}
	encode := func(name string) string {
		b, err := json.Marshal(sr.ServiceInCharge{Name: name, Address: "1 rue\n49000 Angers", Phone: "02", Email: name + "@msa.fr"})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for round := range 2 {
		for i := range 3 {
			name := fmt.Sprintf("Service %d", i)
			got, err := c.decode(encode(name))
			if err != nil || got.Name != name || got.Email != name+"@msa.fr" || got.Address != "1 rue\n49000 Angers" {
				t.Fatalf("round %d: decode(%s) = %+v, %v", round, name, got, err)
			}
		}
	}
	if len(c.byJS) != 2 {
		t.Errorf("cache holds %d entries, want its bound 2", len(c.byJS))
	}
	if _, err := c.decode("{not json"); err == nil {
		t.Error("decode of broken JSON: no error")
	}
	if _, err := c.decode("{not json"); err == nil {
		t.Error("second decode of broken JSON: no error (an error was cached as a value)")
	}
}
