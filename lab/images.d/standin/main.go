// Command standin is the lab's stand-in container: a tiny static program that plays the
// gpu-telemetry chart's components (queue, streamer, collector) on the lab's real node and
// serves its test pods. It reports what the container really got (user, capabilities,
// seccomp, writable paths) so that a test can read a pod's security context from its log.
//
// Subcommands (the image's entrypoint is /standin, the default is serve):
//
//	serve                 print one JSON line about the container, then answer GET /health
//	                      with 200 "ok" on every port of STANDIN_PORTS (default: the chart's
//	                      queue port) until SIGTERM
//	cat <file>...         print the files; exit 1 if one is missing
//	probe-write <path>    try to create and write a file at path; print JSON; exit 0
//	blockdev <device>     size and first 4 KiB digest of a block device; exit 1 if not one
//	sleep                 block until SIGTERM
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// defaultPort is the gpu-telemetry chart's queue port (values.yaml queue.port, the role's
// gpu_telemetry_queue_port), where its probes ask for /health.
const defaultPort = 8080

const usage = `usage: standin [serve | cat <file>... | probe-write <path> | blockdev <device> | sleep]`

func main() {
	args := os.Args[1:]
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	os.Exit(run(cmd, args, os.Stdout, os.Stderr))
}

func run(cmd string, args []string, stdout, stderr io.Writer) int {
	switch cmd {
	case "serve":
		return serve(stdout, stderr)
	case "cat":
		return catFiles(args, stdout, stderr)
	case "probe-write":
		if len(args) != 1 {
			fmt.Fprintln(stderr, "standin probe-write: one path expected\n"+usage)
			return 2
		}
		emit(stdout, probeWrite(args[0], false))
		return 0
	case "blockdev":
		if len(args) != 1 {
			fmt.Fprintln(stderr, "standin blockdev: one device expected\n"+usage)
			return 2
		}
		return blockdev(args[0], stdout, stderr)
	case "sleep":
		waitForSignal()
		return 0
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "standin: unknown subcommand %q\n%s\n", cmd, usage)
	return 2
}

func emit(w io.Writer, v any) {
	line, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(w, "%s\n", line)
}

func waitForSignal() os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	return <-ch
}

// --- serve ---------------------------------------------------------------------------------

// Report is what serve prints at start: what the container really got.
type Report struct {
	UID        int         `json:"uid"`
	GID        int         `json:"gid"`
	Groups     []int       `json:"groups"`
	CapEff     string      `json:"cap_eff"`
	Seccomp    *int        `json:"seccomp"`
	NoNewPrivs *int        `json:"no_new_privs"`
	Root       WriteResult `json:"root"`
	Tmp        WriteResult `json:"tmp"`
	Hostname   string      `json:"hostname"`
	Ports      []int       `json:"ports"`
	Error      string      `json:"error,omitempty"`
}

func serve(stdout, stderr io.Writer) int {
	ports, err := parsePorts(os.Getenv("STANDIN_PORTS"))
	if err != nil {
		fmt.Fprintf(stderr, "standin serve: %v\n", err)
		return 2
	}
	rep := Report{UID: os.Getuid(), GID: os.Getgid(), Ports: ports,
		Root: probeWrite("/", true), Tmp: probeWrite("/tmp", true)}
	rep.Groups, _ = os.Getgroups()
	if rep.Groups == nil {
		rep.Groups = []int{}
	}
	rep.Hostname, _ = os.Hostname()
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		fields := parseStatus(string(status))
		rep.CapEff = fields["CapEff"]
		rep.Seccomp = intField(fields, "Seccomp")
		rep.NoNewPrivs = intField(fields, "NoNewPrivs")
	} else {
		rep.Error = err.Error()
	}
	emit(stdout, rep)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	})
	// The chart's TLS mode gives the queue these two files and probes it over https.
	cert, key := os.Getenv("TLS_CERT_FILE"), os.Getenv("TLS_KEY_FILE")
	failed := make(chan error, len(ports))
	servers := make([]*http.Server, 0, len(ports))
	for _, port := range ports {
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
		if err != nil {
			fmt.Fprintf(stderr, "standin serve: %v\n", err)
			return 1
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() {
			var err error
			if cert != "" && key != "" {
				err = srv.ServeTLS(ln, cert, key)
			} else {
				err = srv.Serve(ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				failed <- err
			}
		}()
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-stop:
	case err := <-failed:
		fmt.Fprintf(stderr, "standin serve: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(ctx)
	}
	return 0
}

// parsePorts reads STANDIN_PORTS ("8080,9090"); empty means the chart's queue port.
func parsePorts(value string) ([]int, error) {
	if strings.TrimSpace(value) == "" {
		return []int{defaultPort}, nil
	}
	var ports []int
	seen := map[int]bool{}
	for _, item := range strings.Split(value, ",") {
		port, err := strconv.Atoi(strings.TrimSpace(item))
		if err != nil || port < 1 || port > 65535 {
			return nil, fmt.Errorf("STANDIN_PORTS=%q: %q is not a port (1-65535); give comma-separated ports such as 8080,9090", value, item)
		}
		if !seen[port] {
			seen[port] = true
			ports = append(ports, port)
		}
	}
	return ports, nil
}

// parseStatus reads /proc/<pid>/status ("Name:\tvalue" lines) into a map.
func parseStatus(text string) map[string]string {
	fields := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if ok {
			fields[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
	}
	return fields
}

func intField(fields map[string]string, name string) *int {
	v, err := strconv.Atoi(fields[name])
	if err != nil {
		return nil
	}
	return &v
}

// --- probe-write ---------------------------------------------------------------------------

// WriteResult says whether a file could be created and written, and the errno if not.
type WriteResult struct {
	Path  string `json:"path"`
	OK    bool   `json:"ok"`
	Errno string `json:"errno"`
	Error string `json:"error,omitempty"`
}

// probeWrite creates and writes a file: at path itself, or inside path when inDir (serve's
// checks of / and /tmp, whose probe file is removed again).
func probeWrite(path string, inDir bool) WriteResult {
	target := path
	if inDir {
		target = filepath.Join(path, fmt.Sprintf(".standin-probe-%d", os.Getpid()))
	}
	res := WriteResult{Path: path}
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err == nil {
		_, err = f.WriteString("written by standin\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if inDir {
			os.Remove(target)
		}
	}
	if err != nil {
		res.Errno, res.Error = errnoName(err), err.Error()
	} else {
		res.OK = true
	}
	return res
}

var errnoNames = map[syscall.Errno]string{
	syscall.EROFS: "EROFS", syscall.EACCES: "EACCES", syscall.EPERM: "EPERM",
	syscall.ENOENT: "ENOENT", syscall.ENOSPC: "ENOSPC", syscall.EISDIR: "EISDIR",
	syscall.ENOTDIR: "ENOTDIR", syscall.EEXIST: "EEXIST", syscall.EINVAL: "EINVAL",
	syscall.EDQUOT: "EDQUOT", syscall.EIO: "EIO", syscall.ENXIO: "ENXIO", syscall.ENODEV: "ENODEV",
}

// errnoName names the errno under err ("EROFS"), "" for none.
func errnoName(err error) string {
	var errno syscall.Errno
	if err == nil {
		return ""
	}
	if !errors.As(err, &errno) {
		return "unknown"
	}
	if name, ok := errnoNames[errno]; ok {
		return name
	}
	return "errno " + strconv.Itoa(int(errno))
}

// --- cat -----------------------------------------------------------------------------------

func catFiles(paths []string, stdout, stderr io.Writer) int {
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "standin cat: no file given\n"+usage)
		return 2
	}
	rc := 0
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(stderr, "standin cat: %s: %s (%s)\n", path, errnoText(err), errnoName(err))
			rc = 1
			continue
		}
		_, err = io.Copy(stdout, f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "standin cat: %s: %v\n", path, err)
			rc = 1
		}
	}
	return rc
}

func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

// --- blockdev ------------------------------------------------------------------------------

// BlockDev is what blockdev prints about a device.
type BlockDev struct {
	Device           string `json:"device"`
	IsBlockDevice    bool   `json:"is_block_device"`
	SizeBytes        int64  `json:"size_bytes"`
	FirstBytesSHA256 string `json:"first_bytes_sha256"`
	FirstBytesLength int    `json:"first_bytes_length"`
}

func blockdev(device string, stdout, stderr io.Writer) int {
	f, err := os.Open(device)
	if err != nil {
		fmt.Fprintf(stderr, "standin blockdev: %s: %s (%s)\n", device, errnoText(err), errnoName(err))
		return 1
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		fmt.Fprintf(stderr, "standin blockdev: %s: %v\n", device, err)
		return 1
	}
	res := BlockDev{Device: device, IsBlockDevice: isBlockDevice(info.Mode())}
	first := make([]byte, 4096)
	n, err := io.ReadFull(f, first)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		fmt.Fprintf(stderr, "standin blockdev: reading %s: %v\n", device, err)
		return 1
	}
	sum := sha256.Sum256(first[:n])
	res.FirstBytesSHA256, res.FirstBytesLength = hex.EncodeToString(sum[:]), n
	if res.SizeBytes, err = f.Seek(0, io.SeekEnd); err != nil {
		fmt.Fprintf(stderr, "standin blockdev: seeking to the end of %s: %v\n", device, err)
		return 1
	}
	emit(stdout, res)
	if !res.IsBlockDevice {
		fmt.Fprintf(stderr, "standin blockdev: %s is not a block device (mode %s)\n", device, info.Mode())
		return 1
	}
	return 0
}

func isBlockDevice(mode os.FileMode) bool {
	return mode&os.ModeDevice != 0 && mode&os.ModeCharDevice == 0
}
