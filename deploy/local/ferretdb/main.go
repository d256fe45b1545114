// Command ferretdb runs FerretDB v1 embedded, with its SQLite backend, for the local stack and tests.
//
// Embedding skips the version file that `go install` of the CLI lacks (FerretDB issue 2982)
// and turns telemetry off. Usage: ferretdb -listen 127.0.0.1:27017 -dir /abs/data/dir, and optionally a TLS
// listener beside it: -listen-tls 127.0.0.1:27018 -tls-cert-file server.pem -tls-key-file server.key.
//
// It also bounds SQLite's write-ahead logs (-wal-limit-mb, -wal-check; docs/adr/0008-database-on-ferretdb.md):
// under constant load some reader always holds an old snapshot, so SQLite's own checkpoints never reset
// the log and it grows without end (2.4 GB in a benchmark run). When a database's log passes the limit,
// a checkpoint in TRUNCATE mode copies it back and empties the file, waiting at most -wal-wait for the
// readers in progress (writers wait meanwhile); one that cannot finish in time is tried again later, each
// time after twice as many checks (at most 12), so long readers do not make it stall writers often.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "modernc.org/sqlite" // the driver FerretDB registers too; the WAL guard opens its own connection
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
	walLimit := flag.Int64("wal-limit-mb", 128, "a database's write-ahead log larger than this is checkpointed and truncated (0: never)")
	walCheck := flag.Duration("wal-check", 5*time.Second, "how often the write-ahead logs' sizes are checked")
	walWait := flag.Duration("wal-wait", 200*time.Millisecond, "how long a truncating checkpoint waits for readers in progress")
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

	if *walLimit > 0 {
		go guardWAL(ctx, abs, *walLimit<<20, *walCheck, *walWait)
	}

	fmt.Fprintf(os.Stderr, "ferretdb: listening on %s (TLS: %q), data in %s\n", *listen, *listenTLS, abs)
	f.Run(ctx)
}

func query(params string) string {
	if params == "" {
		return ""
	}

	return "?" + params
}

// guardWAL checkpoints and truncates every database's write-ahead log that has grown past limit bytes,
// checking every interval until ctx ends. A checkpoint that found readers still busy is tried again
// after twice as many checks as the last time (1, 2, 4, 8, then 12).
func guardWAL(ctx context.Context, dir string, limit int64, interval, wait time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	skip := map[string]int{}    // checks still to skip, per log
	backoff := map[string]int{} // checks skipped after the last busy try, per log
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		logs, _ := filepath.Glob(filepath.Join(dir, "*.sqlite-wal"))
		for _, wal := range logs {
			if skip[wal] > 0 {
				skip[wal]--
				continue
			}
			info, err := os.Stat(wal)
			if err != nil || info.Size() <= limit {
				continue
			}
			if truncateWAL(ctx, strings.TrimSuffix(wal, "-wal"), info.Size(), wait) {
				delete(backoff, wal)
				continue
			}
			backoff[wal] = min(max(1, 2*backoff[wal]), 12)
			skip[wal] = backoff[wal]
		}
	}
}

// truncateWAL runs one TRUNCATE checkpoint of the database file on a connection of its own (opened and
// closed each time, so a dropped database's file is never held open; mode=rw never creates one).
// It reports false when readers were still busy (or it failed), so the caller backs off.
func truncateWAL(ctx context.Context, file string, before int64, wait time.Duration) bool {
	db, err := sql.Open("sqlite", fmt.Sprintf("file:%s?mode=rw&_pragma=busy_timeout(%d)", file, wait.Milliseconds()))
	if err != nil {
		logf("%s: %v", file, err)
		return false
	}
	defer db.Close()
	start := time.Now()
	var busy, frames, copied int
	err = db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &copied)
	after := int64(-1)
	if info, statErr := os.Stat(file + "-wal"); statErr == nil {
		after = info.Size()
	}
	switch {
	case err != nil:
		logf("%s: %v", filepath.Base(file), err)
		return false
	case busy != 0:
		logf("%s: readers still busy after %s; WAL %d MB, tried again later", filepath.Base(file), wait, before>>20)
		return false
	default:
		logf("%s: WAL %d MB -> %d MB in %d ms", filepath.Base(file), before>>20, after>>20, time.Since(start).Milliseconds())
		return true
	}
}

// logf writes one line of the WAL guard to the server's log, timestamped like FerretDB's own lines.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s WAL guard: %s\n", time.Now().Format("2006/01/02 15:04:05"), fmt.Sprintf(format, args...))
}
