package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// commit is set at build time with -ldflags "-X main.commit=..."; without
// it the commit Go recorded from the work tree is shown, if any.
var commit = ""

func printVersion(w io.Writer) error {
	c := commit
	if c == "" {
		c = "unknown"
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	_, err := fmt.Fprintf(w, "atrium %s\ncommit %s\n%s %s/%s\n", version, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

// healthcheck asks the server on this configuration whether it is up: its
// /healthz over HTTP, or, with the HTTP listener off, its admin socket. It
// is what a container's HEALTHCHECK runs, so it needs no curl.
func healthcheck(ctx context.Context, args []string, stdout io.Writer) error {
	inv, err := parseInvocation(&command{name: "healthcheck", usage: "healthcheck", maxArgs: 0}, args)
	if err != nil {
		return err
	}
	cfg, err := inv.config()
	if err != nil {
		return err
	}
	if cfg.HTTPAddr == "" {
		if _, ok := dialAdmin(filepath.Join(cfg.Data, socketName)); !ok {
			return fmt.Errorf("healthcheck: no server answers on %s", filepath.Join(cfg.Data, socketName))
		}
		fmt.Fprintln(stdout, "ok")
		return nil
	}
	url := "http://" + localAddr(cfg.HTTPAddr) + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	first, _, _ := strings.Cut(string(body), "\n") // an etcd node adds lines
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(first) != "ok" {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// localAddr is where this host reaches a listener on addr: a wildcard host
// (":8080", "0.0.0.0:8080", "[::]:8080") becomes loopback.
func localAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
