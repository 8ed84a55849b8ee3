package catalog

import (
	"errors"
	"fmt"
	"slices"
)

// content is the data of one version before build checks and indexes it.
type content struct {
	groups   []Group
	queues   []Queue
	services []Service
}

// clone returns a deep copy: editing it never reaches c, nor a Catalog built from c.
func (c content) clone() content {
	out := content{groups: slices.Clone(c.groups), queues: slices.Clone(c.queues)}
	if c.services != nil {
		out.services = make([]Service, len(c.services))
		for i, s := range c.services {
			out.services[i] = s.clone()
		}
	}
	return out
}

// service returns the index of the service with that code, or an error naming it.
func (c *content) service(code string) (int, error) {
	for i, s := range c.services {
		if s.Code == code {
			return i, nil
		}
	}
	return 0, fmt.Errorf("no service %q", code)
}

// request returns the index of the request service with that code: handling times, silence rules and queues
// belong to request services only.
func (c *content) request(code string) (int, error) {
	i, err := c.service(code)
	if err == nil && c.services[i].Kind != KindRequest {
		err = fmt.Errorf("service %q is a %s, not a request", code, c.services[i].Kind)
	}
	return i, err
}

// Delta is a catalogue version stated as a change on the version just before it: the package builds it by
// applying Changes, in order, to a deep copy of From, so a delta can never alter an earlier version.
type Delta struct {
	// Version is the new version string ("2026.2"); From is the version it changes, the one published just before.
	Version, From string
	// Reason says why the catalogue changes and on what ground (a decree, a decision of the fund), for whoever
	// reviews the golden file's diff. It is not part of the served catalogue.
	Reason  string
	Changes []Change
}

// Change is one typed operation of a Delta: SetHandlingDays, SetSilence, RouteToQueue, AddQueue, AddService,
// ReplaceService or RetireService.
type Change interface {
	apply(c *content) error
}

// SetHandlingDays sets a request service's target handling time (Service.TargetHandlingDays).
type SetHandlingDays struct {
	Service string
	Days    int
}

func (ch SetHandlingDays) apply(c *content) error {
	i, err := c.request(ch.Service)
	if err != nil {
		return err
	}
	if ch.Days <= 0 {
		return fmt.Errorf("service %q: handling time of %d days", ch.Service, ch.Days)
	}
	c.services[i].TargetHandlingDays = ch.Days
	return nil
}

// SetSilence replaces a request service's silence rule.
type SetSilence struct {
	Service string
	Rule    SilenceRule
}

func (ch SetSilence) apply(c *content) error {
	i, err := c.request(ch.Service)
	if err != nil {
		return err
	}
	c.services[i].Silence = ch.Rule
	return nil
}

// RouteToQueue sends the new cases of a request service to another queue (existing, or added by AddQueue earlier
// in the same delta). Cases already queued stay where they are: they were routed under their own version.
type RouteToQueue struct {
	Service, Queue string
}

func (ch RouteToQueue) apply(c *content) error {
	i, err := c.request(ch.Service)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(c.queues, func(q Queue) bool { return q.Code == ch.Queue }) {
		return fmt.Errorf("service %q: no queue %q", ch.Service, ch.Queue)
	}
	c.services[i].Queue = ch.Queue
	return nil
}

// AddQueue adds a caseworker queue, after the existing ones.
type AddQueue struct {
	Queue Queue
}

func (ch AddQueue) apply(c *content) error {
	if ch.Queue.Code == "" || slices.ContainsFunc(c.queues, func(q Queue) bool { return q.Code == ch.Queue.Code }) {
		return fmt.Errorf("queue code %q empty or already used", ch.Queue.Code)
	}
	c.queues = append(c.queues, ch.Queue)
	return nil
}

// AddService adds a service right after the service After (its place on the services page), or last when After
// is empty. Its code must be new: a retired code is never reused for another service.
type AddService struct {
	After   string
	Service Service
}

func (ch AddService) apply(c *content) error {
	if _, err := c.service(ch.Service.Code); err == nil {
		return fmt.Errorf("service %q already exists", ch.Service.Code)
	}
	at := len(c.services)
	if ch.After != "" {
		i, err := c.service(ch.After)
		if err != nil {
			return err
		}
		at = i + 1
	}
	c.services = slices.Insert(c.services, at, ch.Service.clone())
	return nil
}

// ReplaceService replaces the whole definition of the service of the same code (its form, labels, documents),
// keeping its place. Prefer the narrower changes when one says it all.
type ReplaceService struct {
	Service Service
}

func (ch ReplaceService) apply(c *content) error {
	i, err := c.service(ch.Service.Code)
	if err != nil {
		return err
	}
	c.services[i] = ch.Service.clone()
	return nil
}

// RetireService removes a service from the new version: members can no longer choose it. Earlier versions keep
// it, so the cases opened under them still read their form and rules.
type RetireService struct {
	Service string
}

func (ch RetireService) apply(c *content) error {
	i, err := c.service(ch.Service)
	if err != nil {
		return err
	}
	c.services = slices.Delete(c.services, i, i+1)
	return nil
}

// versionChain is every version of a base and its deltas, built.
type versionChain struct {
	order     []string // oldest first
	byVersion map[string]*Catalog
}

// buildChain builds the base version, then each delta on a deep copy of the one before it. It returns an error
// for a delta that does not follow the previous version or whose change does not apply; build panics on data it
// finds inconsistent, as for the base.
func buildChain(baseVersion string, base func() content, deltas []Delta) (versionChain, error) {
	data := base()
	chain := versionChain{order: []string{baseVersion},
		byVersion: map[string]*Catalog{baseVersion: build(baseVersion, data.groups, data.queues, data.services)}}
	for _, d := range deltas {
		prev := chain.order[len(chain.order)-1]
		if d.From != prev {
			return versionChain{}, fmt.Errorf("catalog %s: from %q, but the version before it is %s", d.Version, d.From, prev)
		}
		if _, dup := chain.byVersion[d.Version]; dup || d.Version == "" {
			return versionChain{}, fmt.Errorf("catalog %q: version empty or already published", d.Version)
		}
		if len(d.Changes) == 0 || d.Reason == "" {
			return versionChain{}, fmt.Errorf("catalog %s: a delta needs changes and a reason", d.Version)
		}
		data = data.clone()
		for i, ch := range d.Changes {
			if ch == nil {
				return versionChain{}, errors.New("catalog " + d.Version + ": nil change")
			}
			if err := ch.apply(&data); err != nil {
				return versionChain{}, fmt.Errorf("catalog %s: change %d (%T): %w", d.Version, i+1, ch, err)
			}
		}
		chain.order = append(chain.order, d.Version)
		chain.byVersion[d.Version] = build(d.Version, data.groups, data.queues, data.services)
	}
	return chain, nil
}
