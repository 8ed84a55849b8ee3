package command

import (
	"github.com/msa-dossier/dossier/domain/catalog"
	"github.com/msa-dossier/dossier/domain/servicerequest"
)

// RequestService returns what a submission for service code under catalogue c records: its queue, its deadlines
// (the legal silence rule and the handling target) and its appeal routes, derived exactly as SubmitRequest derives
// them. The auditors' what-if replays (domain/servicerequest/whatif) ask it what another catalogue version would have
// recorded. Errors: catalog.ErrUnknownService, catalog.ErrNotARequest, or an internal error for a service the
// aggregate cannot take (an unknown silence outcome, a queue without a service in charge).
func RequestService(c *catalog.Catalog, code string) (servicerequest.Service, error) {
	svc, err := c.Lookup(code)
	if err != nil {
		return servicerequest.Service{}, err
	}
	if svc.Kind != catalog.KindRequest {
		return servicerequest.Service{}, catalog.ErrNotARequest
	}
	return requestService(c, svc)
}
