package catalog

import "testing"

// TestETagFollowsData: the ETag of a copy of the data with one label changed differs, and that of an identical
// copy does not.
func TestETagFollowsData(t *testing.T) {
	c := Current()
	same := build(c.version, c.Groups(), c.Queues(), c.Services())
	if same.ETag() != c.ETag() {
		t.Fatal("same data, different ETag")
	}
	services := c.Services()
	services[3].Label += "."
	if build(c.version, c.Groups(), c.Queues(), services).ETag() == c.ETag() {
		t.Fatal("label changed, ETag did not")
	}
	services = c.Services()
	services[0].Silence.AfterMonths = 3
	if build(c.version, c.Groups(), c.Queues(), services).ETag() == c.ETag() {
		t.Fatal("rule changed, ETag did not")
	}
	if build("2026.2", c.Groups(), c.Queues(), c.Services()).ETag() == c.ETag() {
		t.Fatal("version changed, ETag did not")
	}
}
