// Command ferretdb runs FerretDB v1 embedded, with its SQLite backend, for the local stack and tests.
//
// Embedding skips the version file that `go install` of the CLI lacks (FerretDB issue 2982)
// and turns telemetry off. Usage: ferretdb -listen 127.0.0.1:27017 -dir /abs/data/dir, and optionally a TLS
// listener beside it: -listen-tls 127.0.0.1:27018 -tls-cert-file server.pem -tls-key-file server.key.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dir := flag.String("dir", "", "directory for the SQLite databases (created if missing)")
	params := flag.String("sqlite-params", "", "query parameters of the SQLite URL, e.g. _pragma=synchronous(NORMAL)")
	pprof := flag.String("pprof", "", "address to serve Go's /debug/pprof on (profiling; empty: off)")
	listenTLS := flag.String("listen-tls", "", "TCP address of a TLS listener (empty: none)")
	tlsCert := flag.String("tls-cert-file", "", "the TLS listener's certificate (PEM)")
	tlsKey := flag.String("tls-key-file", "", "the TLS listener's private key (PEM)")
	tlsCA := flag.String("tls-ca-file", "", "CA (PEM) that client certificates must be signed by (empty: none asked)")
	flag.Parse()

	if *dir == "" {
		fmt.Fprintln(os.Stderr, "ferretdb: -dir is required")
		os.Exit(2)
	}
	abs, err := filepath.Abs(*dir)
	if err == nil {
		err = os.MkdirAll(abs, 0o755)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: data dir: %v\n", err)
		os.Exit(1)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{
			TCP:         *listen,
			TLS:         *listenTLS,
			TLSCertFile: *tlsCert,
			TLSKeyFile:  *tlsKey,
			TLSCAFile:   *tlsCA,
		},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/" + query(*params),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		os.Exit(1)
	}

	if *pprof != "" {
		go func() { fmt.Fprintln(os.Stderr, http.ListenAndServe(*pprof, nil)) }()
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	fmt.Fprintf(os.Stderr, "ferretdb: listening on %s (TLS: %q), data in %s\n", *listen, *listenTLS, abs)
	f.Run(ctx)
}

func query(params string) string {
	if params == "" {
		return ""
	}

	return "?" + params
}
