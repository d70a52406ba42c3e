package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// A stopping web server lets a request under way finish but does not wait
// for a connection that has sent nothing (net/http alone waits until it is
// 5 s old, past this test's 3 s).
func TestShutdownSkipsConnectionsWithoutRequests(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var spare spareConns
	srv := spare.serving(&http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	})})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)

	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answer <- string(body)
	}()
	<-entered

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- shutdownHTTP(ctx, srv, &spare) }()
	time.Sleep(100 * time.Millisecond) // the shutdown is under way while the request runs
	close(release)
	if err := <-stopped; err != nil {
		t.Errorf("shutdown: %v; want it done once the request finished", err)
	}
	if got := <-answer; got != "finished" {
		t.Errorf("the request under way got %q; want it finished", got)
	}
	idle.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := idle.Read(make([]byte, 1)); err == nil {
		t.Error("the connection that sent nothing is still open")
	}
}
