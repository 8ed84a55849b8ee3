package projections

// SetAfterApply makes r run f inside each batch's transaction, between the projection's Apply and the checkpoint:
// a failure there must leave nothing committed.
func SetAfterApply(r *Runner, f func() error) { r.afterApply = f }

// Tables lists the tables of a projection version (for the online rebuild's clean-up).
var Tables = listTables
