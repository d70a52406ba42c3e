package etcdtest

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// childEnv marks a test binary that StartChildren started as a member.
const childEnv = "ETCDTEST_CHILD_MEMBER"

// StartChildren is StartProcesses with members of the etcd this module
// embeds (go.etcd.io/etcd/server/v3/embed) instead of Debian's: each is
// the test binary started again, which runs one member (see
// RunChildMember), so that it can be killed with SIGKILL as a real
// member dies. The package's TestMain must call RunChildMember first.
func StartChildren(t *testing.T) *Processes {
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return startMembers(&Processes{t: t, bin: bin, env: []string{childEnv + "=1"}})
}

// RunChildMember runs one embedded member, configured by the etcd flags
// StartChildren passes, and never returns, when this process is such a
// member; otherwise it returns at once.
func RunChildMember() {
	if os.Getenv(childEnv) == "" {
		return
	}
	cfg, err := childConfig(os.Args[1:])
	if err == nil {
		var e *embed.Etcd
		if e, err = embed.StartEtcd(cfg); err == nil {
			err = <-e.Err()
		}
	}
	fmt.Fprintln(os.Stderr, "etcdtest member:", err)
	os.Exit(1)
}

// childConfig reads the etcd flags startMembers gives (TLS aside).
func childConfig(args []string) (*embed.Config, error) {
	cfg := embed.NewConfig()
	fs := flag.NewFlagSet("member", flag.ContinueOnError)
	fs.StringVar(&cfg.Name, "name", "", "")
	fs.StringVar(&cfg.Dir, "data-dir", "", "")
	fs.StringVar(&cfg.InitialCluster, "initial-cluster", "", "")
	fs.StringVar(&cfg.ClusterState, "initial-cluster-state", "", "")
	fs.StringVar(&cfg.InitialClusterToken, "initial-cluster-token", "", "")
	fs.UintVar(&cfg.TickMs, "heartbeat-interval", 100, "")
	fs.UintVar(&cfg.ElectionMs, "election-timeout", 1000, "")
	fs.String("logger", "", "")
	fs.String("log-level", "", "")
	urls := map[string]*[]url.URL{
		"listen-peer-urls": &cfg.ListenPeerUrls, "initial-advertise-peer-urls": &cfg.AdvertisePeerUrls,
		"listen-client-urls": &cfg.ListenClientUrls, "advertise-client-urls": &cfg.AdvertiseClientUrls,
	}
	for name, dst := range urls {
		fs.Func(name, "", func(v string) error {
			u, err := url.Parse(strings.TrimSpace(v))
			if err != nil {
				return err
			}
			*dst = []url.URL{*u}
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	return cfg, nil
}
