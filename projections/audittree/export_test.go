package audittree

// SetArrayInserts turns PostgreSQL's array inserts on or off (the benchmark compares both in one run) and returns
// the previous setting.
func SetArrayInserts(on bool) bool {
	prev := arrayInserts
	arrayInserts = on
	return prev
}
