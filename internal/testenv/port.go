package testenv

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
)

// FreePort returns a loopback TCP port that was free at the time of the
// call, for a program that must be told its port rather than handed a
// listener. The port lies below Linux's ephemeral range (32768 and up), so
// no outgoing connection takes it before the program listens, nor while a
// program stopped and started again is down. A process never gets the same
// port twice, and each process draws from its own slice first, so test
// binaries of several packages running side by side do not pick each
// other's ports between picking and listening.
func FreePort() (int, error) {
	slice := 20000 + os.Getpid()%12*1000
	for try := range 2000 {
		port := slice + rand.IntN(1000)
		if try >= 1000 {
			port = 20000 + rand.IntN(12000)
		}
		if _, taken := handedOut.LoadOrStore(port, true); taken {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, errors.New("no free loopback port")
}

// handedOut are the ports FreePort has given this process.
var handedOut sync.Map

// FreeAddr is FreePort as "127.0.0.1:port"; it fails t when no port is free.
func FreeAddr(t testing.TB) string {
	t.Helper()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}
