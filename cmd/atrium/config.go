package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/atrium-dir/atrium/backup"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/internal/connlimit"
	"github.com/atrium-dir/atrium/ldif"
)

// Config is every setting of Atrium. Precedence: defaults, then the YAML
// file, then ATRIUM_* environment variables, then flags.
type Config struct {
	Data        string `yaml:"data"`
	BaseDN      string `yaml:"base_dn"`
	LDAPAddr    string `yaml:"ldap_addr"`
	LDAPSAddr   string `yaml:"ldaps_addr"`
	HTTPAddr    string `yaml:"http_addr"`
	ExternalURL string `yaml:"external_url"`
	LogFormat   string `yaml:"log_format"`
	TLS         struct {
		Cert string `yaml:"cert"` // PEM; default DATA/tls.crt, created on first start
		Key  string `yaml:"key"`
	} `yaml:"tls"`
	LDAP struct {
		Anonymous   string        `yaml:"anonymous"` // none, base or tree
		UserRead    string        `yaml:"user_read"` // all or self
		MaxConns    int           `yaml:"max_conns"`
		IdleTimeout time.Duration `yaml:"idle_timeout"`
		// AppPasswordOnlyGroups: members bind with app passwords only.
		AppPasswordOnlyGroups []string `yaml:"app_password_only_groups"`
		// MaxConnsPerAddress: one client address may hold this many.
		MaxConnsPerAddress int `yaml:"max_conns_per_address"`
		// WriteTimeout: a client that reads nothing for this long is dropped.
		WriteTimeout time.Duration `yaml:"write_timeout"`
	} `yaml:"ldap"`
	MFA struct {
		Require string   `yaml:"require"` // none, all or groups
		Groups  []string `yaml:"groups"`  // with require: groups
	} `yaml:"mfa"`
	Samba struct {
		Enabled bool   `yaml:"enabled"`
		Domain  string `yaml:"domain"`
		SID     string `yaml:"sid"` // generated on first start when empty
		// NetBIOSNames: standalone Samba servers (NAS boxes) using Atrium
		// as passdb, each served a domain entry of its own name.
		NetBIOSNames []string `yaml:"netbios_names"`
		// Lockout policy that Samba applies to SMB logins: this many wrong
		// passwords (0: none), each less than window after the last, lock
		// them for duration.
		LockoutThreshold int           `yaml:"lockout_threshold"`
		LockoutDuration  time.Duration `yaml:"lockout_duration"`
		LockoutWindow    time.Duration `yaml:"lockout_window"`
	} `yaml:"samba"`
	Web struct {
		SessionIdle time.Duration `yaml:"session_idle"` // sign out after this long unused
		SessionMax  time.Duration `yaml:"session_max"`  // sign out this long after sign-in
		// RecentSignIn: changes to how a user signs in need a sign-in this recent.
		RecentSignIn time.Duration `yaml:"recent_sign_in"`
		// MaxConnsPerAddress: one client address may hold this many.
		MaxConnsPerAddress int `yaml:"max_conns_per_address"`
		// TrustedProxies: reverse proxies (IPs or CIDRs) whose
		// X-Forwarded-For or CF-Connecting-IP names the client.
		TrustedProxies []string `yaml:"trusted_proxies"`
		// SignInsPerMinute: sign-ins one client address may start (before
		// a password) per minute.
		SignInsPerMinute int `yaml:"sign_ins_per_minute"`
		// AdminGroups: members (nested too) may use the admin console.
		AdminGroups []string      `yaml:"admin_groups"`
		InviteTTL   time.Duration `yaml:"invite_ttl"` // how long an invite link works
	} `yaml:"web"`
	// Mail: when set, invite links are also mailed to the user.
	Mail struct {
		SMTPURL string `yaml:"smtp_url"` // smtp://[user:password@]host:port
		From    string `yaml:"from"`
	} `yaml:"mail"`
	// Limits.Allow: addresses (IPs or CIDRs) exempt from the per-address
	// connection caps, such as a reverse proxy.
	Limits struct {
		Allow []string `yaml:"allow"`
	} `yaml:"limits"`
	// Password: argon2id's cost for new hashes (older hashes are redone at
	// the user's next login) and how many hashes run at once.
	Password struct {
		MemoryKiB   uint32 `yaml:"memory_kib"`
		Time        uint32 `yaml:"time"`
		Threads     uint8  `yaml:"threads"`
		Concurrency int    `yaml:"concurrency"` // 0: one per CPU (GOMAXPROCS)
		MinLength   int    `yaml:"min_length"`  // the shortest password anyone may set
		// RefusedFile: passwords refused besides the shipped list, one a line.
		RefusedFile string `yaml:"refused_file"`
	} `yaml:"password"`
	Backoff struct {
		AddressFreeFailures int           `yaml:"address_free_failures"`
		AddressMaxBlock     time.Duration `yaml:"address_max_block"`
		AccountFailures     int           `yaml:"account_failures"`
		AccountLock         time.Duration `yaml:"account_lock"`
		Window              time.Duration `yaml:"window"`
	} `yaml:"backoff"`
	Store  StoreConfig `yaml:"store"`
	Backup struct {
		Dir   string        `yaml:"dir"` // scheduled backups go here; none when empty
		Every time.Duration `yaml:"every"`
		Keep  int           `yaml:"keep"`
	} `yaml:"backup"`
	Metrics struct {
		Addr string `yaml:"addr"` // /metrics is served here; off when empty
	} `yaml:"metrics"`
	// set holds what the configuration sets rather than leaves at its
	// default: file keys ("mfa.require") and environment variables.
	set map[string]bool
}

func defaultConfig() Config {
	var c Config
	c.Data = "./data"
	c.BaseDN = "dc=example,dc=com"
	c.LDAPAddr = ":3389"
	c.LDAPSAddr = ":6636"
	c.HTTPAddr = ":8080"
	c.ExternalURL = "http://localhost:8080"
	c.LogFormat = "text"
	c.LDAP.Anonymous = "none"
	c.LDAP.UserRead = "all"
	c.LDAP.MaxConns = 4096
	c.LDAP.IdleTimeout = 5 * time.Minute
	c.LDAP.MaxConnsPerAddress = 64 // a NAS opens many
	c.LDAP.WriteTimeout = 30 * time.Second
	c.Web.MaxConnsPerAddress = 256
	c.Web.SignInsPerMinute = 120
	c.MFA.Require = "none"
	c.Samba.Domain = "ATRIUM"
	c.Samba.LockoutThreshold = 10
	c.Samba.LockoutDuration = 10 * time.Minute
	c.Samba.LockoutWindow = 10 * time.Minute
	c.Web.SessionIdle = 30 * time.Minute
	c.Web.SessionMax = 12 * time.Hour
	c.Web.RecentSignIn = 15 * time.Minute
	c.Password.MemoryKiB = password.DefaultParams.Memory
	c.Password.Time = password.DefaultParams.Time
	c.Password.Threads = password.DefaultParams.Threads
	c.Password.MinLength = directory.MinPasswordLengthFloor
	c.Web.AdminGroups = []string{"admins"}
	c.Web.InviteTTL = 72 * time.Hour
	c.Backoff.AddressFreeFailures = 5
	c.Backoff.AddressMaxBlock = 15 * time.Minute
	c.Backoff.AccountFailures = 20
	c.Backoff.AccountLock = 30 * time.Second
	c.Backoff.Window = 15 * time.Minute
	c.Store = defaultStoreConfig()
	c.Backup.Every = backup.DefaultEvery
	c.Backup.Keep = backup.DefaultKeep
	return c
}

// setting ties one environment variable, and optionally one flag, to a
// field, so both are read the same way.
type setting struct {
	env, flag string
	set       func(*Config, string) error
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func integer(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*p(c) = n
		return nil
	}
}

// list reads a comma-separated list; spaces around names are dropped.
func list(p func(*Config) *[]string) func(*Config, string) error {
	return func(c *Config, v string) error {
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*p(c) = out
		return nil
	}
}

var settings = []setting{
	{"ATRIUM_DATA", "data", str(func(c *Config) *string { return &c.Data })},
	{"ATRIUM_BASE_DN", "base-dn", str(func(c *Config) *string { return &c.BaseDN })},
	{"ATRIUM_LDAP_ADDR", "ldap-addr", str(func(c *Config) *string { return &c.LDAPAddr })},
	{"ATRIUM_LDAPS_ADDR", "ldaps-addr", str(func(c *Config) *string { return &c.LDAPSAddr })},
	{"ATRIUM_HTTP_ADDR", "http-addr", str(func(c *Config) *string { return &c.HTTPAddr })},
	{"ATRIUM_EXTERNAL_URL", "external-url", str(func(c *Config) *string { return &c.ExternalURL })},
	{"ATRIUM_LOG_FORMAT", "log-format", str(func(c *Config) *string { return &c.LogFormat })},
	{"ATRIUM_STORE", "store", str(func(c *Config) *string { return &c.Store.Kind })},
	{"ATRIUM_ETCD_ENDPOINTS", "etcd-endpoints", list(func(c *Config) *[]string { return &c.Store.Etcd.Endpoints })},
	{"ATRIUM_ETCD_CA", "etcd-ca", str(func(c *Config) *string { return &c.Store.Etcd.CA })},
	{"ATRIUM_ETCD_CERT", "etcd-cert", str(func(c *Config) *string { return &c.Store.Etcd.Cert })},
	{"ATRIUM_ETCD_KEY", "etcd-key", str(func(c *Config) *string { return &c.Store.Etcd.Key })},
	{"ATRIUM_ETCD_PREFIX", "etcd-prefix", str(func(c *Config) *string { return &c.Store.Etcd.Prefix })},
	{"ATRIUM_ETCD_REQUEST_TIMEOUT", "", duration(func(c *Config) *time.Duration { return &c.Store.Etcd.RequestTimeout })},
	{"ATRIUM_ETCD_REQUIRE_FRESH_LOGINS", "", boolean(func(c *Config) *bool { return &c.Store.Etcd.RequireFreshLogins })},
	{"ATRIUM_TLS_CERT", "", str(func(c *Config) *string { return &c.TLS.Cert })},
	{"ATRIUM_TLS_KEY", "", str(func(c *Config) *string { return &c.TLS.Key })},
	{"ATRIUM_LDAP_ANONYMOUS", "", str(func(c *Config) *string { return &c.LDAP.Anonymous })},
	{"ATRIUM_LDAP_USER_READ", "", str(func(c *Config) *string { return &c.LDAP.UserRead })},
	{"ATRIUM_SAMBA_DOMAIN", "", str(func(c *Config) *string { return &c.Samba.Domain })},
	{"ATRIUM_SAMBA_SID", "", str(func(c *Config) *string { return &c.Samba.SID })},
	{"ATRIUM_SAMBA_NETBIOS_NAMES", "", list(func(c *Config) *[]string { return &c.Samba.NetBIOSNames })},
	{"ATRIUM_MFA_REQUIRE", "", str(func(c *Config) *string { return &c.MFA.Require })},
	{"ATRIUM_MFA_GROUPS", "", list(func(c *Config) *[]string { return &c.MFA.Groups })},
	{"ATRIUM_LDAP_APP_PASSWORD_ONLY_GROUPS", "", list(func(c *Config) *[]string { return &c.LDAP.AppPasswordOnlyGroups })},
	{"ATRIUM_PASSWORD_MIN_LENGTH", "", integer(func(c *Config) *int { return &c.Password.MinLength })},
	{"ATRIUM_PASSWORD_REFUSED_FILE", "", str(func(c *Config) *string { return &c.Password.RefusedFile })},
	{"ATRIUM_BACKUP_DIR", "", str(func(c *Config) *string { return &c.Backup.Dir })},
	{"ATRIUM_METRICS_ADDR", "metrics-addr", str(func(c *Config) *string { return &c.Metrics.Addr })},
	{"ATRIUM_LDAP_MAX_CONNS_PER_ADDRESS", "", integer(func(c *Config) *int { return &c.LDAP.MaxConnsPerAddress })},
	{"ATRIUM_WEB_MAX_CONNS_PER_ADDRESS", "", integer(func(c *Config) *int { return &c.Web.MaxConnsPerAddress })},
	{"ATRIUM_LIMITS_ALLOW", "", list(func(c *Config) *[]string { return &c.Limits.Allow })},
	{"ATRIUM_WEB_TRUSTED_PROXIES", "", list(func(c *Config) *[]string { return &c.Web.TrustedProxies })},
	{"ATRIUM_WEB_SIGN_INS_PER_MINUTE", "", integer(func(c *Config) *int { return &c.Web.SignInsPerMinute })},
	{"ATRIUM_SAMBA", "", func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		c.Samba.Enabled = b
		return nil
	}},
}

// loadConfig builds the configuration from the file, the environment and
// the flags given on the command line (flag name -> value).
func loadConfig(file string, flags map[string]string) (Config, error) {
	c := defaultConfig()
	if file == "" {
		file = os.Getenv("ATRIUM_CONFIG")
	}
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(raw)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config file %s: %w", file, err)
		}
		c.set = fileKeys(raw)
	}
	if c.set == nil {
		c.set = map[string]bool{}
	}
	var errs []error
	for _, s := range settings {
		if v, ok := os.LookupEnv(s.env); ok {
			c.set[s.env] = true
			if err := s.set(&c, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.env, err))
			}
		}
	}
	for _, s := range settings {
		if v, ok := flags[s.flag]; ok && s.flag != "" {
			if err := s.set(&c, v); err != nil {
				errs = append(errs, fmt.Errorf("--%s: %w", s.flag, err))
			}
		}
	}
	return c, errors.Join(errs...)
}

var (
	sidRE     = regexp.MustCompile(`^S-1-5-21-\d+-\d+-\d+$`)
	netbiosRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,14}$`)
)

// Validate returns every problem with the configuration, in words an admin
// understands.
func (c Config) Validate() []string {
	var p []string
	for _, step := range []func() []string{c.generalProblems, c.ldapProblems, c.sambaProblems, c.mfaProblems, c.webProblems, c.runtimeProblems} {
		p = append(p, step()...)
	}
	p = append(p, c.Store.problems()...)
	if c.Backup.Every < time.Minute || c.Backup.Keep < 1 {
		p = append(p, "backup: every must be at least 1m and keep at least 1")
	}
	return p
}

// generalProblems checks the data directory, the base DN, the listeners,
// the external URL, the log format and the TLS files.
func (c Config) generalProblems() []string {
	var p []string
	if c.Data == "" {
		p = append(p, "data: the data directory must be set")
	}
	if _, err := ldif.NewLayout(c.BaseDN); err != nil {
		p = append(p, fmt.Sprintf("base_dn: %q is not a DN (example: dc=example,dc=com)", c.BaseDN))
	}
	for name, addr := range map[string]string{"ldap_addr": c.LDAPAddr, "ldaps_addr": c.LDAPSAddr, "http_addr": c.HTTPAddr, "metrics.addr": c.Metrics.Addr} {
		if addr == "" {
			continue // switched off
		}
		if _, port, err := net.SplitHostPort(addr); err != nil {
			p = append(p, fmt.Sprintf("%s: %q is not HOST:PORT (example: :3389)", name, addr))
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			p = append(p, fmt.Sprintf("%s: port %q is not a number from 0 to 65535", name, port))
		}
	}
	if u, err := url.Parse(c.ExternalURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p = append(p, fmt.Sprintf("external_url: %q must be an http:// or https:// address", c.ExternalURL))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		p = append(p, fmt.Sprintf("log_format: %q must be text or json", c.LogFormat))
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		p = append(p, "tls: give both cert and key, or neither (Atrium then makes its own)")
	}
	for _, f := range []string{c.TLS.Cert, c.TLS.Key} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				p = append(p, fmt.Sprintf("tls: cannot read %s", f))
			}
		}
	}
	return p
}

// ldapProblems checks the LDAP connection limits.
func (c Config) ldapProblems() []string {
	var p []string
	if c.LDAP.MaxConns < 1 || c.LDAP.IdleTimeout < time.Second {
		p = append(p, "ldap: max_conns must be at least 1 and idle_timeout at least 1s")
	}
	if c.LDAP.WriteTimeout < time.Second {
		p = append(p, "ldap.write_timeout must be at least 1s")
	}
	if c.LDAP.MaxConnsPerAddress < 1 || c.Web.MaxConnsPerAddress < 1 {
		p = append(p, "ldap.max_conns_per_address and web.max_conns_per_address must be at least 1 (exempt trusted addresses with limits.allow)")
	}
	for key, addrs := range map[string][]string{"limits.allow": c.Limits.Allow, "web.trusted_proxies": c.Web.TrustedProxies} {
		for _, a := range addrs {
			if _, err := connlimit.ParsePrefix(a); err != nil {
				p = append(p, fmt.Sprintf("%s: %q is not an IP address or CIDR block (example: 192.168.1.0/24)", key, a))
			}
		}
	}
	return p
}

// sambaProblems checks the Samba domain, NAS names and lockout policy.
func (c Config) sambaProblems() []string {
	var p []string
	if c.Samba.Enabled && !netbiosRE.MatchString(c.Samba.Domain) {
		p = append(p, fmt.Sprintf("samba.domain: %q must be a NetBIOS name (up to 15 letters, digits or '-')", c.Samba.Domain))
	}
	for _, n := range c.Samba.NetBIOSNames {
		if !netbiosRE.MatchString(n) {
			p = append(p, fmt.Sprintf("samba.netbios_names: %q must be a NetBIOS name (up to 15 letters, digits or '-')", n))
		}
	}
	if c.Samba.LockoutThreshold < 0 || c.Samba.LockoutDuration < time.Minute || c.Samba.LockoutWindow < time.Minute {
		p = append(p, "samba: lockout_threshold must be 0 or more, lockout_duration and lockout_window at least 1m")
	}
	if c.Samba.SID != "" && !sidRE.MatchString(c.Samba.SID) {
		p = append(p, fmt.Sprintf("samba.sid: %q must look like S-1-5-21-1111-2222-3333", c.Samba.SID))
	}
	return p
}

// mfaProblems checks that the second-factor policy's two keys agree;
// runtimeProblems checks each.
func (c Config) mfaProblems() []string {
	var p []string
	switch c.MFA.Require {
	case "none", "all":
		if len(c.MFA.Groups) > 0 {
			p = append(p, fmt.Sprintf("mfa.groups: listed, but mfa.require is %q; set it to groups to use them", c.MFA.Require))
		}
	case "groups":
		if len(c.MFA.Groups) == 0 {
			p = append(p, "mfa.groups: mfa.require is groups, so list at least one group")
		}
	}
	return p
}

// webProblems checks sign-ins, mail, password hashing and lists, and the
// backoff.
func (c Config) webProblems() []string {
	var p []string
	if err := c.passwordParams().CheckStrength(); err != nil {
		p = append(p, fmt.Sprintf("password: %v; raise memory_kib, time or threads", err))
	}
	if c.Password.Concurrency < 0 {
		p = append(p, "password.concurrency: must be 0 (one per CPU) or more")
	}
	if c.Web.SignInsPerMinute < 1 {
		p = append(p, "web.sign_ins_per_minute must be at least 1")
	}
	if c.Password.RefusedFile != "" {
		if _, err := directory.ReadPasswordList(c.Password.RefusedFile); err != nil {
			p = append(p, fmt.Sprintf("password.refused_file: cannot read %s", c.Password.RefusedFile))
		}
	}
	if (c.Mail.SMTPURL == "") != (c.Mail.From == "") {
		p = append(p, "mail: smtp_url and from go together")
	}
	b := c.Backoff
	if b.AddressFreeFailures < 1 || b.AccountFailures < 1 || b.AddressMaxBlock <= 0 || b.AccountLock <= 0 || b.Window <= 0 {
		p = append(p, "backoff: every count and duration must be positive")
	}
	return p
}

// passwordParams are the argon2id parameters of c.
func (c Config) passwordParams() password.Params {
	return password.Params{Memory: c.Password.MemoryKiB, Time: c.Password.Time, Threads: c.Password.Threads}
}

// fileKeys lists the keys a YAML file sets, as "section.key" or "key".
func fileKeys(raw []byte) map[string]bool {
	var top map[string]any
	out := map[string]bool{}
	if yaml.Unmarshal(raw, &top) != nil {
		return out
	}
	for k, v := range top {
		out[k] = true
		if section, ok := v.(map[string]any); ok {
			for sub := range section {
				out[k+"."+sub] = true
			}
		}
	}
	return out
}

// allowList is limits.allow parsed; Validate has refused bad entries.
func (c Config) allowList() []netip.Prefix { return prefixes(c.Limits.Allow) }

// trustedProxies is web.trusted_proxies parsed.
func (c Config) trustedProxies() []netip.Prefix { return prefixes(c.Web.TrustedProxies) }

func prefixes(addrs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range addrs {
		if pfx, err := connlimit.ParsePrefix(a); err == nil {
			out = append(out, pfx)
		}
	}
	return out
}
