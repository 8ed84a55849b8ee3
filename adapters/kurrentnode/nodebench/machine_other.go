//go:build !linux

package nodebench

import (
	"os"
	"runtime"
)

// kernelAndFilesystem is only precise on Linux.
func kernelAndFilesystem(string) (kernel, fs string) { return runtime.GOOS, "unknown" }

// datasync falls back to fsync where fdatasync is not available.
func datasync(f *os.File) error { return f.Sync() }
