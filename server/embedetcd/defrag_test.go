package embedetcd

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A single member that starts on a database file mostly freed (a burst
// deleted since, or history folded into chunks) drops the old revisions
// and rewrites the file before serving: etcd maps the whole file into
// memory.
func TestStartRewritesAMostlyFreeFile(t *testing.T) {
	dir := t.TempDir()
	e, err := Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := e.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	value := strings.Repeat("x", 100<<10)
	for i := range 600 { // 60 MB
		if _, err := cli.Put(ctx, "/burst/"+string(rune('a'+i%26))+strings.Repeat("k", i/26), value); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Delete(ctx, "/burst/", clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/kept", "still here"); err != nil {
		t.Fatal(err)
	}
	before := e.etcd.Server.Backend().Size()
	cli.Close()
	e.Close()
	if before < 32<<20 {
		t.Fatalf("the burst left a %d-byte file, want over 32 MiB for the test to mean anything", before)
	}

	e, err = Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if after := e.etcd.Server.Backend().Size(); after > 8<<20 {
		t.Fatalf("database file %d bytes after the restart (%d before), want it rewritten to under 8 MiB", after, before)
	}
	cli, err = e.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(ctx, "/kept")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "still here" {
		t.Fatalf("what was kept: %v, %v", resp, err)
	}
}
