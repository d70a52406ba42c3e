package etcdstore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDial(t *testing.T) {
	ctx := context.Background()
	cli, err := Dial(ctx, ClientConfig{Endpoints: cluster.Endpoints})
	must(t, err)
	defer cli.Close()
	s, err := Open(ctx, cli, Options{Prefix: freshPrefix()})
	must(t, err)
	must(t, s.Close())

	dead := freeURL().String()
	missing := filepath.Join(t.TempDir(), "ca.pem")
	for _, c := range []struct {
		cfg  ClientConfig
		want string
	}{
		{ClientConfig{}, "no endpoints"},
		{ClientConfig{Endpoints: cluster.Endpoints, Cert: "c.pem"}, "needs its key"},
		{ClientConfig{Endpoints: cluster.Endpoints, CA: missing}, "ca.pem"},
		{ClientConfig{Endpoints: []string{dead}, DialTimeout: 300 * time.Millisecond}, "no member of " + dead + " answers"},
	} {
		cli, err := Dial(ctx, c.cfg)
		if err == nil {
			cli.Close()
			t.Errorf("Dial(%+v) succeeded", c.cfg)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Dial(%+v) = %v, want it to say %q", c.cfg, err, c.want)
		}
	}
}
