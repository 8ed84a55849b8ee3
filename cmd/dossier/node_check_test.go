package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/alecthomas/kong"
	"github.com/google/uuid"

	"github.com/msa-dossier/dossier/adapters/kurrentnode"
)

// parseNode parses `dossier node args…` as the binary would and returns the selected command and the tree.
func parseNode(t *testing.T, args ...string) (string, *NodeCmd) {
	t.Helper()
	var cli struct {
		Node NodeCmd `cmd:""`
	}
	p, err := kong.New(&cli)
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := p.Parse(append([]string{"node"}, args...))
	if err != nil {
		t.Fatalf("parse node %q: %v", args, err)
	}
	return kctx.Command(), &cli.Node
}

// TestNodeRunsByDefault: `dossier node --listen … --data …` still runs the node.
func TestNodeRunsByDefault(t *testing.T) {
	cmd, node := parseNode(t, "--listen", "127.0.0.1:9", "--data", "/tmp/x")
	if cmd != "node run" || node.Serve.Listen != "127.0.0.1:9" || node.Serve.Data != "/tmp/x" {
		t.Fatalf("dossier node --listen --data parsed as %q %+v", cmd, node.Serve)
	}
}

// TestNodeCheckAndRepair: on a log with a flipped byte in its middle, `dossier node check` prints the damage and
// fails, `dossier node repair` copies the file aside and cuts it, after which check passes and the node starts.
func TestNodeCheckAndRepair(t *testing.T) {
	dir := t.TempDir()
	n, err := kurrentnode.Start(kurrentnode.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := esdb.ParseConnectionString(n.ConnectionString())
	c, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stream := "member-" + uuid.NewString()
	var positions []uint64
	for i := 0; i < 6; i++ {
		wr, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{},
			esdb.EventData{EventType: "Counted", ContentType: esdb.ContentTypeJson, Data: []byte(`{"n":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		positions = append(positions, wr.CommitPosition)
	}
	c.Close()
	n.Close()

	// run runs `dossier node args… --data dir` and returns what it printed.
	run := func(args ...string) (string, error) {
		cmd, node := parseNode(t, append(args, "--data", dir)...)
		var out bytes.Buffer
		var err error
		switch cmd {
		case "node check":
			node.Check.stdout = &out
			err = node.Check.Run()
		case "node repair":
			node.Repair.stdout = &out
			err = node.Repair.Run()
		default:
			t.Fatalf("unexpected command %q", cmd)
		}
		return out.String(), err
	}
	if out, err := run("check"); err != nil || !strings.Contains(out, "6 records") {
		t.Fatalf("check of a sound log: %v\n%s", err, out)
	}
	// Flip a byte inside the third event's record.
	path := filepath.Join(dir, "events-00000000000000000000.log") // the first (and only) log segment
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xee}, int64(positions[2])+30)
	f.Close()
	if out, err := run("check"); !errors.Is(err, errLogDamaged) || !strings.Contains(out, "DAMAGED at offset") || !strings.Contains(out, stream) {
		t.Fatalf("check of a damaged log: %v\n%s", err, out)
	}
	if _, err := kurrentnode.Start(kurrentnode.Options{Dir: dir}); err == nil {
		t.Fatal("node started on a damaged log")
	}
	if out, err := run("repair"); err != nil || !strings.Contains(out, "copied the damaged segment to ") || !strings.Contains(out, "cut the log at offset") {
		t.Fatalf("repair: %v\n%s", err, out)
	}
	if out, err := run("check"); err != nil || !strings.Contains(out, "2 records") || !strings.Contains(out, "status:      ok") {
		t.Fatalf("check after repair: %v\n%s", err, out)
	}
	n, err = kurrentnode.Start(kurrentnode.Options{Dir: dir})
	if err != nil {
		t.Fatalf("start after repair: %v", err)
	}
	n.Close()
}

// TestNodeCheckSealedOnARunningNode: `dossier node check --sealed` verifies the sealed segments of a node that
// runs (plain check refuses it).
func TestNodeCheckSealedOnARunningNode(t *testing.T) {
	dir := t.TempDir()
	n, err := kurrentnode.Start(kurrentnode.Options{Dir: dir, SegmentBytes: 2048})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	cfg, _ := esdb.ParseConnectionString(n.ConnectionString())
	c, err := esdb.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stream := "member-" + uuid.NewString()
	for i := 0; i < 20; i++ {
		if _, err := c.AppendToStream(context.Background(), stream, esdb.AppendToStreamOptions{},
			esdb.EventData{EventType: "Counted", ContentType: esdb.ContentTypeJson, Data: []byte(`{"pad":"` + strings.Repeat("x", 200) + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	cmd, node := parseNode(t, "check", "--sealed", "--data", dir)
	if cmd != "node check" || !node.Check.Sealed {
		t.Fatalf("parsed %q %+v", cmd, node.Check)
	}
	var out bytes.Buffer
	node.Check.stdout = &out
	if err := node.Check.Run(); err != nil || !strings.Contains(out.String(), "status:      ok") || strings.Contains(out.String(), " 0 sealed") {
		t.Fatalf("check --sealed on a running node: %v\n%s", err, out.String())
	}
	node.Check.Sealed = false
	if err := node.Check.Run(); !errors.Is(err, kurrentnode.ErrDirInUse) {
		t.Fatalf("plain check on a running node: %v, want ErrDirInUse", err)
	}
}
