package main

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
)

// startProfiler serves Go's profiles (net/http/pprof) on the loopback address in DOSSIER_PPROF_ADDR, for the
// benchmarks (BENCHMARKS.md, "Load"): CPU, heap, goroutines, and the block and mutex profiles, which it turns on
// (sampling about one event in 100). Unset, nothing is served; an address that is not loopback is refused: profiles
// hold no personal data, but they are no business of anyone outside the machine.
func startProfiler(logger *slog.Logger) {
	addr := os.Getenv("DOSSIER_PPROF_ADDR")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		logger.Warn("DOSSIER_PPROF_ADDR must be a loopback address with a port; profiler not started")
		return
	}
	runtime.SetBlockProfileRate(100_000) // one sample per 100 µs blocked
	runtime.SetMutexProfileFraction(100)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil { //nolint:gosec // loopback, profiling only
			logger.Warn("profiler stopped", "err", err)
		}
	}()
	logger.Info("profiler listening", "addr", addr)
}
