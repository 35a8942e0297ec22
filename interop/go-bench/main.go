// go-bench is the reference point for BENCHMARKS.md: containerd's own Go ttrpc
// (github.com/containerd/ttrpc, as packaged by Debian) over mutual TLS 1.3, measured on the
// same machine as dossierd. One program, three roles:
//
//	-serve      a ttrpc server answering dossier.v1.Health/Check with an empty message
//	-bench      N connections x M calls in flight of Health/Check: calls/s and latency
//	-handshake  W workers, each looping new TLS connection + one call + close: connections/s
//
// -bench and -handshake work against any server with that method (dossierd too; -target
// only names the run in the output). They measure the way dossier-bench does: a call counts
// if it began after the warm-up and finished before the end; latency is from send to answer;
// percentiles are nearest-rank on the sorted latencies. Each prints one human line and one
// JSON line. Exit status: 0 ok, 1 a call failed, 2 bad usage or setup.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
)

const (
	service = "dossier.v1.Health"
	method  = "Check"
)

// --- Messages -------------------------------------------------------------------------------

// empty is a protobuf message with no fields: what the server decodes the request into
// (dossier.v1.CheckRequest has none) and what it answers. ttrpc's codec marshals it with
// gogo/protobuf's reflection, as it would any hand-written or generated message.
type empty struct{}

func (*empty) Reset()         {}
func (*empty) String() string { return "{}" }
func (*empty) ProtoMessage()  {}

// raw is the client's message: Marshal sends its bytes as they are and Unmarshal keeps the
// answer undecoded, so the client works against any server whatever its CheckResponse holds.
// (gogo's proto.Marshal/Unmarshal use these methods instead of reflection.)
type raw struct{ b []byte }

func (m *raw) Reset()                   { m.b = m.b[:0] }
func (m *raw) String() string           { return fmt.Sprintf("%x", m.b) }
func (*raw) ProtoMessage()              {}
func (m *raw) Marshal() ([]byte, error) { return m.b, nil }
func (m *raw) Unmarshal(b []byte) error { m.b = append(m.b[:0], b...); return nil }

// --- Flags and TLS --------------------------------------------------------------------------

type config struct {
	addr, certs, serverName, clientCert, target string
	connections, inflight, workers              int
	duration, warmup, timeout                   time.Duration
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go-bench: "+format+"\n", args...)
	os.Exit(2)
}

func caPool(cfg config) *x509.CertPool {
	pem, err := ioutil.ReadFile(filepath.Join(cfg.certs, "ca.pem"))
	if err != nil {
		fail("%v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fail("no certificate in %s/ca.pem", cfg.certs)
	}
	return pool
}

func keyPair(cfg config, name string) tls.Certificate {
	cert, err := tls.LoadX509KeyPair(filepath.Join(cfg.certs, name+".pem"), filepath.Join(cfg.certs, name+".key"))
	if err != nil {
		fail("%v", err)
	}
	return cert
}

// clientTLS: our client certificate, the server verified against ca.pem, TLS 1.3 only. No
// session cache, so every connection is a full handshake (as in dossier-bench).
func clientTLS(cfg config) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{keyPair(cfg, cfg.clientCert)},
		RootCAs:      caPool(cfg),
		ServerName:   cfg.serverName,
		MinVersion:   tls.VersionTLS13,
	}
}

func dial(cfg config, tlsConfig *tls.Config) (*tls.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: cfg.timeout}, "tcp", cfg.addr, tlsConfig)
}

// --- Server ---------------------------------------------------------------------------------

// serve runs the real ttrpc server (ttrpc.NewServer, Serve) on a TLS 1.3 listener that
// requires a client certificate issued by ca.pem, until SIGTERM or SIGINT.
func serve(cfg config) {
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{keyPair(cfg, "server")},
		ClientCAs:    caPool(cfg),
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
	listener, err := tls.Listen("tcp", cfg.addr, tlsConfig)
	if err != nil {
		fail("%v", err)
	}
	server, err := ttrpc.NewServer()
	if err != nil {
		fail("%v", err)
	}
	// Health/Check: decode the request, answer an empty message.
	server.Register(service, map[string]ttrpc.Method{
		method: func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var request empty
			if err := unmarshal(&request); err != nil {
				return nil, err
			}
			return &empty{}, nil
		},
	})

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		server.Shutdown(ctx) // closes the listener: Serve returns ErrServerClosed
	}()

	fmt.Fprintf(os.Stderr, "go-bench: ttrpc server on %s\n", listener.Addr())
	if err := server.Serve(context.Background(), listener); err != nil && !errors.Is(err, ttrpc.ErrServerClosed) {
		fail("serve: %v", err)
	}
}

// --- Measuring ------------------------------------------------------------------------------

// window is the measured interval: a call counts if it began at or after from and finished
// at or before to.
type window struct{ from, to time.Time }

func newWindow(cfg config) window {
	from := time.Now().Add(cfg.warmup)
	return window{from, from.Add(cfg.duration)}
}

// samples is one goroutine's measurements; merged at the end, so no locking while running.
type samples struct {
	latencies []time.Duration
	errors    int
	firstErr  error
}

// record counts a failed call whenever it happened (warm-up included: any failure fails the
// run) and a successful one's latency if it lies in the window.
func (s *samples) record(w window, began time.Time, err error) {
	finished := time.Now()
	if err != nil {
		s.errors++
		if s.firstErr == nil {
			s.firstErr = err
		}
		return
	}
	if began.Before(w.from) || finished.After(w.to) {
		return
	}
	s.latencies = append(s.latencies, finished.Sub(began))
}

// report prints the human line and the JSON line, and exits 1 if any call failed.
func report(operation, unit string, all []*samples, seconds float64, setting string) {
	var total samples
	for _, s := range all {
		total.latencies = append(total.latencies, s.latencies...)
		total.errors += s.errors
		if total.firstErr == nil {
			total.firstErr = s.firstErr
		}
	}
	sorted := total.latencies
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	// Nearest rank, as dossier-bench's Report: sorted[min(n-1, floor(n*p))], in µs.
	percentile := func(p float64) int64 {
		if len(sorted) == 0 {
			return 0
		}
		i := int(float64(len(sorted)) * p)
		if i > len(sorted)-1 {
			i = len(sorted) - 1
		}
		return sorted[i].Microseconds()
	}
	rate := float64(len(sorted)) / seconds
	p50, p90, p99, max := percentile(0.5), percentile(0.9), percentile(0.99), percentile(1)

	fmt.Printf("%s: %.0f %s/s, latency µs p50 %d p90 %d p99 %d max %d, %d errors (%s)\n",
		operation, rate, unit, p50, p90, p99, max, total.errors, setting)
	fmt.Printf("{\"operation\":%q,\"%s_per_s\":%.0f,\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d,\"max_us\":%d,\"count\":%d,\"errors\":%d}\n",
		operation, unit, rate, p50, p90, p99, max, len(sorted), total.errors)
	if total.errors > 0 {
		fmt.Fprintf(os.Stderr, "go-bench: first error: %v\n", total.firstErr)
		os.Exit(1)
	}
}

// watchdog ends the program if the run overstays its window by the call timeout (a server
// that stopped answering), since the bench calls themselves carry no deadline.
func watchdog(cfg config, w window) {
	time.AfterFunc(time.Until(w.to)+cfg.timeout, func() {
		fmt.Fprintf(os.Stderr, "go-bench: calls still pending %v after the end; giving up\n", cfg.timeout)
		os.Exit(1)
	})
}

// --- Bench: long-lived connections ----------------------------------------------------------

func bench(cfg config) {
	tlsConfig := clientTLS(cfg)
	clients := make([]*ttrpc.Client, cfg.connections)
	for i := range clients {
		conn, err := dial(cfg, tlsConfig)
		if err != nil {
			fail("connection %d: %v", i+1, err)
		}
		clients[i] = ttrpc.NewClient(conn)
		defer clients[i].Close()
	}

	w := newWindow(cfg)
	watchdog(cfg, w)
	all := make([]*samples, 0, cfg.connections*cfg.inflight)
	var wg sync.WaitGroup
	for _, client := range clients {
		for j := 0; j < cfg.inflight; j++ {
			s := &samples{latencies: make([]time.Duration, 0, 1<<16)}
			all = append(all, s)
			wg.Add(1)
			go func(client *ttrpc.Client, s *samples) {
				defer wg.Done()
				// No per-call deadline (no timer per call, no timeout_nano sent); see watchdog.
				ctx := context.Background()
				request := &raw{} // empty CheckRequest: zero bytes
				var answer raw
				// A failed call ends this goroutine: on a long-lived connection it almost
				// always means the connection is gone, and every later call would fail at once.
				for began := time.Now(); began.Before(w.to); began = time.Now() {
					err := client.Call(ctx, service, method, request, &answer)
					s.record(w, began, err)
					if err != nil {
						return
					}
				}
			}(client, s)
		}
	}
	wg.Wait()
	report(operationName(cfg.target, "health"), "calls", all, cfg.duration.Seconds(),
		fmt.Sprintf("%d connections x %d in flight, %v", cfg.connections, cfg.inflight, cfg.duration))
}

// --- Handshake: a new connection per call ---------------------------------------------------

func handshake(cfg config) {
	tlsConfig := clientTLS(cfg)
	w := newWindow(cfg)
	watchdog(cfg, w)
	all := make([]*samples, cfg.workers)
	var wg sync.WaitGroup
	for i := range all {
		s := &samples{}
		all[i] = s
		wg.Add(1)
		go func() {
			defer wg.Done()
			for began := time.Now(); began.Before(w.to); began = time.Now() {
				s.record(w, began, connectCallClose(cfg, tlsConfig))
			}
		}()
	}
	wg.Wait()
	report(operationName(cfg.target, "handshake"), "connections", all, cfg.duration.Seconds(),
		fmt.Sprintf("%d workers, %v", cfg.workers, cfg.duration))
}

// connectCallClose: TCP connect, full TLS 1.3 handshake, one Health/Check, close. The call
// is what proves the server accepted our certificate (in TLS 1.3 the client finishes its
// handshake before the server has checked the certificate).
func connectCallClose(cfg config, tlsConfig *tls.Config) error {
	conn, err := dial(cfg, tlsConfig)
	if err != nil {
		return err
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	return client.Call(ctx, service, method, &raw{}, &raw{})
}

// operationName: the reference run is "go-ttrpc-health" and "go-tls-handshake"; against
// another server (-target dossierd) "go-client-dossierd-health" and "...-handshake".
func operationName(target, what string) string {
	switch {
	case target == "go" && what == "health":
		return "go-ttrpc-health"
	case target == "go":
		return "go-tls-handshake"
	default:
		return "go-client-" + target + "-" + what
	}
}

// --- Main -----------------------------------------------------------------------------------

func main() {
	var cfg config
	var serveMode, benchMode, handshakeMode bool
	var duration, warmup float64
	flag.BoolVar(&serveMode, "serve", false, "run the ttrpc server")
	flag.BoolVar(&benchMode, "bench", false, "long-lived connections: calls/s and latency")
	flag.BoolVar(&handshakeMode, "handshake", false, "a new connection per call: connections/s and latency")
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:7470", "host:port to listen on (-serve) or to call")
	flag.StringVar(&cfg.certs, "certs", "certs/dev", "directory of ca.pem, server.pem/.key and the client certificate")
	flag.StringVar(&cfg.serverName, "server-name", "localhost", "name the server certificate must carry")
	flag.StringVar(&cfg.clientCert, "client-cert", "professional-gp", "client certificate: CERTS/NAME.pem and .key")
	flag.StringVar(&cfg.target, "target", "go", "what -addr is, naming the output: go (this program's -serve) or e.g. dossierd")
	flag.IntVar(&cfg.connections, "connections", 16, "-bench: connections")
	flag.IntVar(&cfg.inflight, "inflight", 8, "-bench: calls in flight per connection")
	flag.IntVar(&cfg.workers, "workers", 16, "-handshake: concurrent workers")
	flag.Float64Var(&duration, "duration", 10, "seconds measured")
	flag.Float64Var(&warmup, "warmup", 2, "seconds of warm-up, not measured")
	flag.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "connect timeout; handshake-mode call deadline; grace after the end")
	flag.Parse()
	cfg.duration = time.Duration(duration * float64(time.Second))
	cfg.warmup = time.Duration(warmup * float64(time.Second))

	switch {
	case flag.NArg() > 0:
		fail("unexpected arguments: %v", flag.Args())
	case serveMode && !benchMode && !handshakeMode:
		serve(cfg)
	case benchMode && !serveMode && !handshakeMode:
		if cfg.connections < 1 || cfg.inflight < 1 || cfg.duration <= 0 {
			fail("-connections, -inflight and -duration must be positive")
		}
		bench(cfg)
	case handshakeMode && !serveMode && !benchMode:
		if cfg.workers < 1 || cfg.duration <= 0 {
			fail("-workers and -duration must be positive")
		}
		handshake(cfg)
	default:
		fail("give exactly one of -serve, -bench, -handshake")
	}
}
