package acceptance

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/msa-dossier/dossier/adapters/mail/smtptest"
	"github.com/msa-dossier/dossier/tests/testbin"
)

// TestFullEventsDiskFailsCleanlyAndResumes: `dossier node` keeps its events on a tmpfs of 8 MiB (mounted in a mount
// namespace of its own: `unshare -rm`, so nothing is mounted on the machine; the namespace is kept by a holder
// process so that the node can be restarted on the same data). A filler file leaves it almost no space; under load
// appends fail. Then the filler is deleted. The verdict: every failed append is answered 503 with a stable code
// (never 500), nothing acknowledged is lost, a failed command retried with its Idempotency-Key gives one request,
// and writing resumes with no node restart: the node cuts the failed group back, refuses writes while it cannot
// write, and a probe write lifts the refusal once space returns (adapters/kurrentnode writeFailed and probe).
//
// It needs `unshare` and `nsenter` (util-linux) and the right to make user and mount namespaces: without them it
// fails, it is never skipped.
func TestFullEventsDiskFailsCleanlyAndResumes(t *testing.T) {
	dir := t.TempDir()
	holder := exec.Command("unshare", "-rm", "sh", "-c", `mount -t tmpfs -o size=8m tmpfs "$0" && echo mounted && exec sleep 3600`, dir)
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	holder.Stderr = os.Stderr
	if err := holder.Start(); err != nil {
		t.Fatalf("the full-disk scenario needs unshare (util-linux): %v", err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	mounted := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		mounted <- sc.Scan() && sc.Text() == "mounted"
	}()
	select {
	case ok := <-mounted:
		if !ok {
			t.Fatal("no tmpfs could be mounted in a mount namespace (unshare -rm): the full-disk scenario needs one")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("unshare -rm did not mount the tmpfs within 20s")
	}
	pid := strconv.Itoa(holder.Process.Pid)
	inside := filepath.Join("/proc", pid, "root", dir) // the tmpfs as the holder sees it
	addr := freeAddr(t)
	nodeCmd := func() *exec.Cmd {
		return exec.Command("nsenter", "-t", pid, "-U", "-m", "--preserve-credentials",
			testbin.Dossier(t), "node", "--listen", addr, "--data", dir)
	}
	node := startNodeCmd(t, nodeCmd(), dir, addr)

	smtp, err := smtptest.Start(smtptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtp.Close() })
	args := []string{"--kurrentdb-url", "esdb://" + addr + "?tls=false",
		"--smtp-url", fmt.Sprintf("smtp://%s?tls=none", smtp.Addr()),
		"--mail-from", "Mon espace privé <ne-pas-repondre@msa.test>", "--consistency-timeout", "5s"}
	srvDir := t.TempDir()
	s := startServeIn(t, srvDir, args...)
	s.waitReady(t)
	c := &cluster{node: node, smtp: smtp, args: [][]string{args}, dirs: []string{srvDir}, down: make([]atomic.Bool, 1)}
	c.env = []string{"DOSSIER_KURRENTDB_URL=esdb://" + addr + "?tls=false"} // operator commands reach the same node
	c.replicas = []*memberEnv{{srv: s, smtp: smtp, adminEnv: c.env}}
	csv := filepath.Join(srvDir, "assures.csv")
	if err := os.WriteFile(csv, []byte(insuredCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	c.replicas[0].admin(t, nil, "admin", "import-insured", csv)
	token := faultMember(t, c.replicas[0])

	// Leave 256 KiB free.
	var st syscall.Statfs_t
	if err := syscall.Statfs(inside, &st); err != nil {
		t.Fatalf("statfs of the tmpfs: %v", err)
	}
	free := int64(st.Bavail) * st.Bsize
	filler := filepath.Join(inside, "filler")
	if err := os.WriteFile(filler, make([]byte, max(0, free-256<<10)), 0o600); err != nil {
		t.Fatalf("filler: %v", err)
	}
	l := startLoad(t, c, token, 10)
	full := time.Now()
	for {
		l.mu.Lock()
		refused := len(l.subs) - l.by[201]
		l.mu.Unlock()
		if refused >= 10 {
			break
		}
		if time.Since(full) > 90*time.Second {
			t.Fatal("no append refused 90s after the disk was filled")
		}
		time.Sleep(100 * time.Millisecond)
	}
	filledAfter := time.Since(full)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// Writing resumes with no restart: the node's probe lifts its refusal once a write goes through again.
	freed := time.Now()
	l.mu.Lock()
	before := len(l.subs)
	l.mu.Unlock()
	var resumed time.Duration
	for resumed == 0 {
		l.mu.Lock()
		for _, sub := range l.subs[before:] {
			if sub.status == 201 {
				resumed = time.Since(freed)
				break
			}
		}
		l.mu.Unlock()
		if resumed == 0 && time.Since(freed) > 30*time.Second {
			t.Fatalf("no submission acknowledged 30s after space returned (node not restarted): writes must resume\n%s", node.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(faultLoad())
	l.stop()
	c.alive(t)
	l.mu.Lock()
	by, bodies := l.by, l.bodies
	l.mu.Unlock()
	t.Logf("disk full: first refusals within %s; answers by status %v; bodies %v", filledAfter.Round(time.Millisecond), by, bodies)
	t.Logf("space back: first submission acknowledged %s after, node not restarted", resumed.Round(time.Millisecond))
	for status := range by {
		if status != 201 && status != 503 {
			t.Errorf("a submission on a full disk answered %d: %s", status, bodies[status])
		}
	}
	c.verdict(t, l, token, false)
}
