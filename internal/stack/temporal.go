package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tradeexec/tradeexec/internal/devserver"
)

// temporalConfig is Temporal's server configuration for PostgreSQL
// persistence (after the server's config/development-postgres12.yaml),
// every service in one process on loopback ports from base.
func temporalConfig(pg pgAddr, db, visDB string, base int, dynamicFile string) string {
	return fmt.Sprintf(`log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
      sql:
        pluginName: "postgres12"
        databaseName: %[2]q
        connectAddr: %[1]q
        connectProtocol: "tcp"
        user: %[3]q
        password: %[4]q
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: "1h"
    postgres-visibility:
      sql:
        pluginName: "postgres12"
        databaseName: %[5]q
        connectAddr: %[1]q
        connectProtocol: "tcp"
        user: %[3]q
        password: %[4]q
        maxConns: 4
        maxIdleConns: 4
        maxConnLifetime: "1h"
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
services:
  frontend:
    rpc:
      grpcPort: %[6]d
      membershipPort: %[7]d
      bindOnLocalHost: true
      httpPort: %[8]d
  history:
    rpc:
      grpcPort: %[9]d
      membershipPort: %[10]d
      bindOnLocalHost: true
  matching:
    rpc:
      grpcPort: %[11]d
      membershipPort: %[12]d
      bindOnLocalHost: true
  worker:
    rpc:
      grpcPort: %[13]d
      membershipPort: %[14]d
      bindOnLocalHost: true
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:%[6]d"
dcRedirectionPolicy:
  policy: "noop"
dynamicConfigClient:
  filepath: %[15]q
  pollInterval: "10s"
`, pg.hostPort(), db, pg.user, pg.password, visDB,
		base, base+100, base+10, base+1, base+101, base+2, base+102, base+6, base+106, dynamicFile)
}

// dynamicConfig renders the dev server's dynamic config (the same values
// tests and `make run` use: devserver.DefaultDynamicConfig) in the server's
// file format.
func dynamicConfig() string {
	dc := devserver.DefaultDynamicConfig()
	keys := make([]string, 0, len(dc))
	for k := range dc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := dc[k]
		var val any = v
		if n, err := strconv.Atoi(v); err == nil {
			val = n
		} else if bv, err := strconv.ParseBool(v); err == nil {
			val = bv
		}
		js, _ := json.Marshal(val)
		fmt.Fprintf(&b, "%s:\n  - value: %s\n", k, js)
	}
	return b.String()
}

// temporalSchema creates Temporal's tables in db (and visibility's in
// visDB) with Temporal's own sql tool and schema files, at the versions of
// the server module.
func temporalSchema(ctx context.Context, o Options, pg pgAddr, db, visDB string) error {
	dir, err := moduleDir(ctx, "go.temporal.io/server@"+o.TemporalServerVersion)
	if err != nil {
		return err
	}
	for _, s := range []struct{ db, schema string }{
		{db, filepath.Join(dir, "schema/postgresql/v12/temporal/versioned")},
		{visDB, filepath.Join(dir, "schema/postgresql/v12/visibility/versioned")},
	} {
		common := []string{"--plugin", "postgres12", "--ep", pg.host, "--port", pg.port, "--user", pg.user, "--db", s.db}
		if pg.password != "" {
			common = append(common, "--password", pg.password)
		}
		for _, args := range [][]string{
			append(append([]string{}, common...), "setup-schema", "-v", "0.0"),
			append(append([]string{}, common...), "update-schema", "-d", s.schema),
		} {
			cmd := exec.CommandContext(ctx, o.SQLTool, args...) // #nosec G204 -- bin/sql with fixed arguments
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("temporal sql tool %s: %w\n%s", strings.Join(args[len(common):], " "), err, out)
			}
		}
	}
	return nil
}

// moduleDir downloads a module (from the Go module proxy or the cache) and
// returns its directory.
func moduleDir(ctx context.Context, modVersion string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", modVersion) // #nosec G204 -- fixed module
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", modVersion, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", modVersion, m.Error)
	}
	return m.Dir, nil
}

// waitTemporal waits until the frontend answers, then registers the
// namespace and tradeexec's search attributes (as the dev server's flags
// do in tests).
func waitTemporal(ctx context.Context, addr, namespace string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var c client.Client
	var err error
	for {
		c, err = client.Dial(client.Options{HostPort: addr, Namespace: namespace, Logger: quiet{}})
		if err == nil {
			if _, err = c.CheckHealth(ctx, &client.CheckHealthRequest{}); err == nil {
				break
			}
			c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temporal server at %s not ready after %s: %w", addr, timeout, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	defer c.Close()
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(72 * time.Hour)})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %s: %w", namespace, err)
	}
	attrs := map[string]enums.IndexedValueType{}
	for _, sa := range devserver.SearchAttributes {
		v, ok := enums.IndexedValueType_value["INDEXED_VALUE_TYPE_"+strings.ToUpper(sa.Type)]
		if !ok {
			return fmt.Errorf("search attribute %s: unknown type %s", sa.Name, sa.Type)
		}
		attrs[sa.Name] = enums.IndexedValueType(v)
	}
	// A namespace just registered may take a moment to be known everywhere.
	for {
		_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: attrs})
		var already *serviceerror.AlreadyExists
		if err == nil || errors.As(err, &already) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("search attributes: %w", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

type quiet struct{}

func (quiet) Debug(string, ...interface{}) {}
func (quiet) Info(string, ...interface{})  {}
func (quiet) Warn(string, ...interface{})  {}
func (quiet) Error(string, ...interface{}) {}
