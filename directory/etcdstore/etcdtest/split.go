package etcdtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// StartDebianSplittable is StartProcesses with each member's peer traffic
// going through a proxy in the test, so that Partition can cut a member
// off from the others while clients still reach it. The peers speak
// plain HTTP, which the proxies read to tell who dialed.
func StartDebianSplittable(t *testing.T) *Processes {
	return startMembers(&Processes{t: t, bin: debianEtcd(t), split: &split{conns: map[net.Conn]link{}}})
}

// split is what the proxies share: the members' IDs, the member cut off,
// and the open connections.
type split struct {
	mu    sync.Mutex
	ids   []string // by member, as etcd's X-Server-From header names them
	cut   int      // the member cut off, -1 for none
	conns map[net.Conn]link
}

// link is one peer connection: from the member named in its first
// request (X-Server-From, which etcd sets on every Raft stream, pipeline
// and snapshot request; "" for other requests) to member to.
type link struct {
	from string
	to   int
}

// listen starts a proxy to each member's peer address, and returns the
// proxies' URLs for the members to advertise.
func (s *split) listen(t *testing.T, peers []string) []string {
	s.cut = -1
	var urls []string
	for i, peer := range peers {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go s.serve(l, i, strings.TrimPrefix(peer, "http://"))
		urls = append(urls, "http://"+l.Addr().String())
	}
	return urls
}

func (s *split) serve(l net.Listener, to int, target string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go s.forward(c, to, target)
	}
}

// forward copies one connection to member to, unless one end is cut off.
func (s *split) forward(c net.Conn, to int, target string) {
	defer c.Close()
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	head, from, err := readHead(r)
	c.SetReadDeadline(time.Time{})
	if err != nil || !s.admit(c, link{from, to}) {
		return
	}
	defer s.forget(c)
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	go func() {
		io.Copy(up, io.MultiReader(bytes.NewReader(head), r))
		up.Close()
	}()
	io.Copy(c, up)
}

// readHead reads the header of the first request, and who sent it.
func readHead(r *bufio.Reader) (head []byte, from string, err error) {
	for len(head) < 64<<10 {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return nil, "", err
		}
		head = append(head, line...)
		name, value, _ := strings.Cut(string(line), ":")
		if strings.EqualFold(name, "X-Server-From") {
			from = strings.TrimSpace(value)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			return head, from, nil
		}
	}
	return nil, "", errors.New("request header too long")
}

func (s *split) admit(c net.Conn, l link) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cuts(l) {
		return false
	}
	s.conns[c] = l
	return true
}

func (s *split) forget(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

func (s *split) cuts(l link) bool {
	return s.cut >= 0 && (l.to == s.cut || l.from == s.ids[s.cut])
}

// Partition cuts member i off from the other members: the proxies close
// every peer connection to or from it and refuse new ones, as a network
// split would, while clients still reach every member. Heal ends it.
func (p *Processes) Partition(i int) {
	s := p.split
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cut = i
	for c, l := range s.conns {
		if s.cuts(l) {
			c.Close()
		}
	}
}

// Heal lets member i reach the other members again after Partition.
func (p *Processes) Heal(i int) {
	p.split.mu.Lock()
	p.split.cut = -1
	p.split.mu.Unlock()
}

// LeaderOf is the index of the member that member i takes for the
// leader, or -1 when it knows none or does not answer.
func (p *Processes) LeaderOf(i int) int {
	cli := client(p.t, p.Endpoints[i:i+1], p.tls)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	st, err := cli.Status(ctx, p.Endpoints[i])
	if err != nil {
		return -1
	}
	for j, id := range p.split.ids {
		if id == strconv.FormatUint(st.Leader, 16) {
			return j
		}
	}
	return -1
}

// learnIDs asks each member for its ID.
func (p *Processes) learnIDs() {
	cli := client(p.t, p.Endpoints, p.tls)
	defer cli.Close()
	for _, ep := range p.Endpoints {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := cli.Status(ctx, ep)
		cancel()
		if err != nil {
			p.t.Fatal(err)
		}
		p.split.ids = append(p.split.ids, strconv.FormatUint(st.Header.MemberId, 16))
	}
}
