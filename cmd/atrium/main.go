package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
)

// Exit codes, one per kind of failure.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitNotFound = 3
	exitExists   = 4
	exitInvalid  = 5
	exitConflict = 6
	exitLocked   = 7
	// exitUnavailable: the shared store has no quorum; try again later.
	exitUnavailable = 8
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// exitCode maps an error to its one exit code and the plain message shown.
func exitCode(err error) (int, string) {
	var ue usageError
	var re remoteError
	switch {
	case err == nil:
		return exitOK, ""
	case errors.As(err, &re):
		return re.code, re.msg
	case errors.As(err, &ue):
		return exitUsage, ue.msg + "\nRun 'atrium help' for the list of commands."
	case errors.Is(err, directory.ErrNotFound):
		return exitNotFound, err.Error()
	case errors.Is(err, directory.ErrAlreadyExists):
		return exitExists, err.Error()
	case errors.Is(err, directory.ErrInvalid):
		return exitInvalid, err.Error()
	case errors.Is(err, directory.ErrConflict):
		return exitConflict, err.Error()
	case errors.Is(err, directory.ErrUnavailable):
		return exitUnavailable, "the etcd cluster cannot take changes right now (unreachable, or without quorum); nothing was changed. Try again once a majority of its members is up."
	case errors.Is(err, boltstore.ErrLocked):
		return exitLocked, err.Error() + " (is another atrium command running?)"
	}
	return exitError, err.Error()
}

// run is the whole program; it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	err := dispatch(ctx, args, stdin, stdout, stderr)
	code, msg := exitCode(err)
	if msg != "" {
		fmt.Fprintln(stderr, "atrium: "+msg)
	}
	return code
}

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "version", "--version":
		return printVersion(stdout)
	case "healthcheck":
		return healthcheck(ctx, args[1:], stdout)
	}
	cmd, rest, err := findCommand(args)
	if err != nil {
		return err
	}
	inv, err := parseInvocation(cmd, rest)
	if err != nil {
		return err
	}
	switch cmd.name {
	case "config check":
		return configCheck(inv, stdout)
	case "backup verify":
		return backupVerify(ctx, inv, stdout)
	case "migrate":
		return migrateStore(ctx, inv, stdout)
	}
	if cmd.password != nil {
		if err := resolvePassword(inv, stdin, stdout); err != nil {
			return err
		}
	}
	return execute(ctx, inv, stdout)
}

// invocation is one parsed command line.
type invocation struct {
	cmd        *command
	args       []string          // positional arguments
	flags      map[string]string // command flags given
	multi      map[string][]string
	global     map[string]string // --data, --config, --json
	json       bool
	password   string // resolved on the client before anything runs
	generated  bool
	configFile string
}

func (inv *invocation) config() (Config, error) {
	return loadConfig(inv.configFile, inv.global)
}

// parseInvocation reads flags wherever they stand among the arguments.
func parseInvocation(cmd *command, args []string) (*invocation, error) {
	inv := &invocation{cmd: cmd, flags: map[string]string{}, multi: map[string][]string{}, global: map[string]string{}}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	strFlags := map[string]*string{}
	boolFlags := map[string]*bool{}
	for _, name := range append([]string{"data", "config", "base-dn"}, storeFlags...) {
		strFlags[name] = fs.String(name, "", "")
	}
	boolFlags["json"] = fs.Bool("json", false, "")
	for _, f := range cmd.flags {
		if strings.HasSuffix(f, "!") {
			boolFlags[strings.TrimSuffix(f, "!")] = fs.Bool(strings.TrimSuffix(f, "!"), false, "")
		} else if strings.HasSuffix(f, "*") {
			name := strings.TrimSuffix(f, "*")
			fs.Func(name, "", func(v string) error { inv.multi[name] = append(inv.multi[name], v); return nil })
		} else {
			strFlags[f] = fs.String(f, "", "")
		}
	}
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%s: %v", cmd.name, err)
		}
		args = fs.Args()
		if len(args) > 0 {
			inv.args = append(inv.args, args[0])
			args = args[1:]
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "data", "base-dn", "store", "etcd-endpoints", "etcd-ca", "etcd-cert", "etcd-key", "etcd-prefix":
			inv.global[f.Name] = f.Value.String()
		case "config":
			inv.configFile = f.Value.String()
		case "json":
			inv.json = true
		default:
			if b, ok := boolFlags[f.Name]; ok {
				inv.flags[f.Name] = fmt.Sprint(*b)
			} else if s, ok := strFlags[f.Name]; ok {
				inv.flags[f.Name] = *s
			}
		}
	})
	if len(inv.args) < cmd.minArgs || (cmd.maxArgs >= 0 && len(inv.args) > cmd.maxArgs) {
		return nil, usagef("usage: atrium %s", cmd.usage)
	}
	return inv, nil
}

const usageText = `atrium: a self-hosted directory (LDAP and SAML) in one binary.

Usage:
  atrium serve [--config FILE] [--data DIR] [--base-dn DN] [--ldap-addr HOST:PORT] [--ldaps-addr HOST:PORT]
               [--http-addr HOST:PORT] [--external-url URL] [--log-format text|json] [--metrics-addr HOST:PORT]
  atrium user add UID --mail M [--given G] [--sn S] [--name "Display Name"] [--uid-number N] [--gid-number N]
                      [--shell SH] [--home DIR] [--password-stdin]
  atrium user list | show UID | passwd UID [--password-stdin] | disable UID | enable UID | delete UID
  atrium user rename OLD NEW | set-group UID [CN]
  atrium user mfa list UID | reset UID
  atrium group add CN [--description D] [--gid-number N]
  atrium group list [--private] | show CN | delete CN
  atrium group add-member CN MEMBER... | remove-member CN MEMBER...   (a member is a uid, or group:CN)
  atrium bind-account add NAME [--rights read,samba,admin] [--password-stdin] | list | delete NAME
  atrium app-password add UID NAME | list UID | revoke UID NAME
  atrium app add NAME (--metadata FILE|URL | --entity-id ID --acs URL) [--preset cloudflare|generic] [--groups G1,G2] ...
  atrium app add NAME --oidc (--redirect-uri URL... | --preset NAME --app-url URL) [--public] [--groups G1,G2] ...
  atrium app list | show NAME | delete NAME | rotate-secret NAME
  atrium saml metadata | rotate-cert [--switch | --finish | --app NAME]
  atrium oidc rotate-key [--switch | --finish]
  atrium audit [--user UID] [--since DURATION]
  atrium backup FILE | backup verify FILE | restore FILE [--force]
  atrium import FILE.ldif | export [--with-secrets] [--no-ssh-keys] FILE.ldif
  atrium settings show | set KEY VALUE [KEY VALUE]... | reset KEY...   (see README, settings)
  atrium config check
  atrium migrate --to etcd --etcd-endpoints URL,... [--etcd-ca F --etcd-cert F --etcd-key F] [--etcd-prefix P] [--force]
  atrium version | healthcheck

Every command takes --data DIR (default ./data, or ATRIUM_DATA), --config FILE and --json.
On an etcd cluster, serve and every command take --store etcd --etcd-endpoints URL,URL,...
[--etcd-ca F --etcd-cert F --etcd-key F] [--etcd-prefix /atrium] (see README, several nodes).
Passwords are never arguments: --password-stdin reads one line; otherwise atrium asks on a
terminal, or generates a strong password and prints it once.
`
