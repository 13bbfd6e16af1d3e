package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestParsePorts(t *testing.T) {
	for value, want := range map[string][]int{"": {8080}, " ": {8080}, "9090": {9090}, "8080, 9090,8080": {8080, 9090}} {
		got, err := parsePorts(value)
		if err != nil || len(got) != len(want) {
			t.Fatalf("parsePorts(%q) = %v, %v; want %v", value, got, err, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("parsePorts(%q) = %v; want %v", value, got, want)
			}
		}
	}
	for _, bad := range []string{"http", "0", "70000", "8080,", "-1"} {
		if _, err := parsePorts(bad); err == nil || !strings.Contains(err.Error(), "STANDIN_PORTS") {
			t.Fatalf("parsePorts(%q) error = %v; want one naming STANDIN_PORTS", bad, err)
		}
	}
}

func TestParseStatus(t *testing.T) {
	fields := parseStatus("Name:\tstandin\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n")
	if fields["CapEff"] != "0000000000000000" || *intField(fields, "Seccomp") != 2 || *intField(fields, "NoNewPrivs") != 1 {
		t.Fatalf("parseStatus: %v", fields)
	}
	if intField(fields, "Missing") != nil {
		t.Fatal("a missing field must be nil")
	}
}

func TestErrnoName(t *testing.T) {
	if got := errnoName(&fs.PathError{Op: "open", Path: "/x", Err: syscall.EROFS}); got != "EROFS" {
		t.Fatalf("errnoName(EROFS) = %q", got)
	}
	if got := errnoName(nil); got != "" {
		t.Fatalf("errnoName(nil) = %q", got)
	}
	if got := errnoName(errors.New("plain")); got != "unknown" {
		t.Fatalf("errnoName(plain) = %q", got)
	}
	if got := errnoName(syscall.Errno(200)); got != "errno 200" {
		t.Fatalf("errnoName(200) = %q", got)
	}
}

func TestProbeWriteAndCat(t *testing.T) {
	dir := t.TempDir()
	if res := probeWrite(dir, true); !res.OK || res.Errno != "" {
		t.Fatalf("probeWrite(%s) = %+v", dir, res)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("the in-directory probe left %v", entries)
	}
	target := filepath.Join(dir, "marker")
	if res := probeWrite(target, false); !res.OK {
		t.Fatalf("probeWrite(%s) = %+v", target, res)
	}
	if res := probeWrite(filepath.Join(dir, "no", "such"), false); res.OK || res.Errno != "ENOENT" {
		t.Fatalf("probeWrite into a missing directory = %+v", res)
	}
	var out, errOut bytes.Buffer
	if rc := catFiles([]string{target}, &out, &errOut); rc != 0 || out.String() != "written by standin\n" {
		t.Fatalf("cat = %d %q %q", rc, out.String(), errOut.String())
	}
	out.Reset()
	if rc := catFiles([]string{filepath.Join(dir, "missing"), target}, &out, &errOut); rc != 1 ||
		!strings.Contains(errOut.String(), "missing: no such file or directory (ENOENT)") || out.String() == "" {
		t.Fatalf("cat of a missing file = %d %q %q", rc, out.String(), errOut.String())
	}
}

func TestBlockdevRefusesARegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(path, bytes.Repeat([]byte{1}, 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if rc := blockdev(path, &out, &errOut); rc != 1 || !strings.Contains(out.String(), `"size_bytes":5000`) ||
		!strings.Contains(out.String(), `"first_bytes_length":4096`) || !strings.Contains(errOut.String(), "not a block device") {
		t.Fatalf("blockdev(regular file) = %d %q %q", rc, out.String(), errOut.String())
	}
}

func TestUnknownSubcommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if rc := run("nope", nil, &out, &errOut); rc != 2 || !strings.Contains(errOut.String(), "usage:") {
		t.Fatalf("run(nope) = %d %q", rc, errOut.String())
	}
}
