package nodebench

import (
	"bufio"
	"os"
	"runtime"
	"strings"
)

// Machine describes where the figures were measured.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Kernel     string `json:"kernel"`
	// Filesystem is the type of the filesystem holding the benchmark data.
	Filesystem string `json:"filesystem"`
	// Postgres is the version of the PostgreSQL baseline server, when there is one.
	Postgres string `json:"postgres,omitempty"`
}

// DescribeMachine reports the CPU, the Go runtime, the kernel and the filesystem holding dir.
func DescribeMachine(dir string) Machine {
	m := Machine{
		CPU:        cpuModel(),
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
		Kernel:     "unknown",
		Filesystem: "unknown",
	}
	if dir == "" {
		dir = os.TempDir()
	}
	m.Kernel, m.Filesystem = kernelAndFilesystem(dir)
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
