package config

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	testKey1 = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))
	testKey2 = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("K", 32)))
	testKey3 = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("p", 32)))
)

const (
	pgPassword = "pg-hunter2-secret"
	jwtValue   = "jwt-0123456789abcdef0123456789abcdef"
	botToken   = "bot-token-MTIzNDU2Nzg5"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// productionEnv is a complete, valid environment for every production mode.
func productionEnv() map[string]string {
	return map[string]string{
		"DATABASE_URL":               "postgres://trader:" + pgPassword + "@db.internal:5432/tradeexec?sslmode=require",
		"TEMPORAL_ADDRESS":           "temporal.internal:7233",
		"PUBLIC_URL":                 "https://trade.example.com/",
		"VAULT_KEYS":                 "2:" + testKey2 + ",1:" + testKey1,
		"JWT_SECRET":                 jwtValue,
		"DISCORD_BOT_TOKEN":          botToken,
		"TEMPORAL_PAYLOAD_KEYS":      "3:" + testKey3 + ",2:" + testKey2,
		"AUDIT_STORE":                "s3://audit-bucket/tradeexec",
		"AUDIT_S3_ACCESS_KEY_ID":     "AKIDEXAMPLE",
		"AUDIT_S3_SECRET_ACCESS_KEY": "s3-secret-value-xyz",
		"AUDIT_CHECKPOINT_KEYS":      "1:" + testKey1,
	}
}

func with(m map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestLoadProduction(t *testing.T) {
	cfg, err := Load(envOf(productionEnv()), ModeAPI)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"driver", cfg.DatabaseDriver, "postgres"},
		{"namespace", cfg.TemporalNamespace, "default"},
		{"task queue", cfg.TaskQueue, "tradeexec"},
		{"http addr", cfg.HTTPAddr, ":8080"},
		{"public url trimmed", cfg.PublicURL, "https://trade.example.com"},
		{"current key", cfg.Keyring.Current, 2},
		{"payload key", cfg.PayloadCodec.Current(), 3},
		{"log level", cfg.LogLevel, "info"},
		{"log format", cfg.LogFormat, "json"},
		{"billing", cfg.BillingProvider, BillingNone},
		{"embedded", cfg.EmbeddedTemporal(), false},
		{"data dir", cfg.DataDir, ""},
		{"shutdown", cfg.ShutdownTimeout, 30 * time.Second},
		{"jwt", cfg.JWTSecret.Reveal(), jwtValue},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestLoadModeRequirements(t *testing.T) {
	tests := []struct {
		mode    string
		env     map[string]string
		missing []string // variables reported as required
	}{
		{ModeAPI, map[string]string{}, []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "PUBLIC_URL", "VAULT_KEYS", "TEMPORAL_PAYLOAD_KEYS", "JWT_SECRET"}},
		{ModeWorker, map[string]string{}, []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "VAULT_KEYS", "TEMPORAL_PAYLOAD_KEYS", "AUDIT_STORE", "AUDIT_CHECKPOINT_KEYS"}},
		{ModeWorker, with(productionEnv(), "AUDIT_CHECKPOINT_KEYS", ""), []string{"AUDIT_CHECKPOINT_KEYS"}},
		{ModeWorker, with(productionEnv(), "AUDIT_STORE", "off", "AUDIT_CHECKPOINT_KEYS", ""), nil},
		{ModeAudit, map[string]string{}, []string{"DATABASE_URL", "AUDIT_STORE", "AUDIT_CHECKPOINT_KEYS"}},
		{ModeBot, map[string]string{}, []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_PAYLOAD_KEYS", "DISCORD_BOT_TOKEN"}},
		{ModeWorker, with(productionEnv(), "TEMPORAL_PAYLOAD_KEYS", ""), []string{"TEMPORAL_PAYLOAD_KEYS"}},
		{ModeBot, with(productionEnv(), "TEMPORAL_PAYLOAD_KEYS", ""), []string{"TEMPORAL_PAYLOAD_KEYS"}},
		{ModeMigrate, map[string]string{}, []string{"DATABASE_URL"}},
		{ModeWorker, with(productionEnv(), "PUBLIC_URL", "", "JWT_SECRET", "", "DISCORD_BOT_TOKEN", ""), nil},
		{ModeMigrate, map[string]string{"DATABASE_URL": "postgres://u@h/db"}, nil},
	}
	all := []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "PUBLIC_URL", "VAULT_KEYS", "TEMPORAL_PAYLOAD_KEYS", "JWT_SECRET", "DISCORD_BOT_TOKEN"}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d-missing", tt.mode, len(tt.missing)), func(t *testing.T) {
			_, err := Load(envOf(tt.env), tt.mode)
			if len(tt.missing) == 0 {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error %v is not config.Errors", err)
			}
			for _, v := range all {
				want := false
				for _, m := range tt.missing {
					want = want || m == v
				}
				if errs.Has(v) != want {
					t.Errorf("%s reported=%v, want %v; all errors:\n%v", v, errs.Has(v), want, err)
				}
			}
			if len(errs) != len(tt.missing) {
				t.Errorf("got %d errors, want %d:\n%v", len(errs), len(tt.missing), err)
			}
			for _, fe := range errs {
				if want := "config: " + fe.Var + ": required in " + tt.mode + " mode"; fe.Error() != want {
					t.Errorf("message %q, want %q", fe.Error(), want)
				}
			}
		})
	}
}

func TestLoadInvalidValues(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		set     []string
		wantErr string // one full line of the error
	}{
		{"mysql", ModeAPI, []string{"DATABASE_URL", "mysql://u:" + pgPassword + "@h/db"},
			`config: DATABASE_URL: unsupported scheme "mysql" (use postgres:// or sqlite://)`},
		{"not a url", ModeAPI, []string{"DATABASE_URL", "hunter2@host"},
			"config: DATABASE_URL: not a URL (use postgres://user:password@host:5432/db or sqlite://path/to/file.db)"},
		{"pg no host", ModeAPI, []string{"DATABASE_URL", "postgres://u:" + pgPassword + "@/db"},
			"config: DATABASE_URL: no host in the PostgreSQL URL"},
		{"pg bad escape", ModeAPI, []string{"DATABASE_URL", "postgres://u:pa%zz" + pgPassword + "@h/db"},
			"config: DATABASE_URL: cannot be parsed as a URL (check the escaping of the password)"},
		{"pg no db", ModeAPI, []string{"DATABASE_URL", "postgres://u@h:5432"},
			"config: DATABASE_URL: no database name in the PostgreSQL URL"},
		{"sqlite in production", ModeWorker, []string{"DATABASE_URL", "sqlite:///var/lib/x.db"},
			"config: DATABASE_URL: sqlite is for dev mode only (use postgres://)"},
		{"http addr", ModeAPI, []string{"HTTP_ADDR", ":abc"},
			`config: HTTP_ADDR: invalid address ":abc" (port must be 1-65535)`},
		{"http addr no port", ModeAPI, []string{"HTTP_ADDR", "localhost"},
			`config: HTTP_ADDR: invalid address "localhost" (want host:port)`},
		{"temporal no host", ModeWorker, []string{"TEMPORAL_ADDRESS", ":7233"},
			`config: TEMPORAL_ADDRESS: invalid address ":7233" (no host)`},
		{"public url http", ModeAPI, []string{"PUBLIC_URL", "http://trade.example.com"},
			`config: PUBLIC_URL: "http://trade.example.com" must use https outside dev mode (session cookies are Secure)`},
		{"public url relative", ModeAPI, []string{"PUBLIC_URL", "/app"},
			`config: PUBLIC_URL: invalid URL "/app" (want an absolute http(s) URL, e.g. https://trade.example.com)`},
		{"public url query", ModeAPI, []string{"PUBLIC_URL", "https://x.example?a=1"},
			"config: PUBLIC_URL: must not contain credentials, a query or a fragment"},
		{"vault short key", ModeWorker, []string{"VAULT_KEYS", "1:" + base64.StdEncoding.EncodeToString([]byte("short"))},
			`config: VAULT_KEYS: key version 1 is 5 bytes, want 32 (format "2:base64key,1:base64key", 32-byte keys)`},
		{"vault dup", ModeWorker, []string{"VAULT_KEYS", "1:" + testKey1 + ",1:" + testKey2},
			`config: VAULT_KEYS: key version 1 listed twice (format "2:base64key,1:base64key", 32-byte keys)`},
		{"app role", ModeMigrate, []string{"DATABASE_APP_ROLE", "App-Role"},
			`config: DATABASE_APP_ROLE: invalid role "App-Role" (a plain lower-case identifier: a-z, 0-9, _)`},
		{"payload short key", ModeBot, []string{"TEMPORAL_PAYLOAD_KEYS", "1:" + base64.StdEncoding.EncodeToString([]byte("short"))},
			`config: TEMPORAL_PAYLOAD_KEYS: key version 1 is 5 bytes, want 32 (format "2:base64key,1:base64key", 32-byte keys)`},
		{"payload not base64", ModeWorker, []string{"TEMPORAL_PAYLOAD_KEYS", "1:%%%"},
			`config: TEMPORAL_PAYLOAD_KEYS: key version 1 is not base64 (format "2:base64key,1:base64key", 32-byte keys)`},
		{"jwt short", ModeAPI, []string{"JWT_SECRET", "tooshort"},
			"config: JWT_SECRET: the value is 8 bytes, want at least 32 (e.g. openssl rand -base64 48)"},
		{"log level", ModeAPI, []string{"LOG_LEVEL", "verbose"},
			`config: LOG_LEVEL: invalid level "verbose" (use debug, info, warn or error)`},
		{"log format", ModeAPI, []string{"LOG_FORMAT", "xml"},
			`config: LOG_FORMAT: invalid format "xml" (use json or console)`},
		{"tls", ModeWorker, []string{"TEMPORAL_TLS", "maybe"},
			`config: TEMPORAL_TLS: invalid boolean "maybe" (use true or false)`},
		{"namespace", ModeWorker, []string{"TEMPORAL_NAMESPACE", "my ns"},
			`config: TEMPORAL_NAMESPACE: invalid name "my ns" (no spaces or control characters, at most 255 bytes)`},
		{"billing unknown", ModeAPI, []string{"BILLING_PROVIDER", "paypal"},
			`config: BILLING_PROVIDER: unknown provider "paypal" (use none, stripe or polar)`},
		{"polar products", ModeAPI, []string{"BILLING_PROVIDER", "polar", "POLAR_ACCESS_TOKEN", "polar_oat_x", "POLAR_WEBHOOK_SECRET", "whs", "POLAR_PRODUCT_BASIC", "p1", "POLAR_PRODUCT_PRO", "p2"},
			"config: POLAR_PRODUCT_PREMIUM: required when BILLING_PROVIDER=polar (the Polar product id of the plan)"},
		{"stripe prices", ModeAPI, []string{"BILLING_PROVIDER", "stripe", "STRIPE_SECRET_KEY", "sk_test_x", "STRIPE_WEBHOOK_SECRET", "whsec_x", "STRIPE_PRICE_BASIC", "p1", "STRIPE_PRICE_PRO", "p2"},
			"config: STRIPE_PRICE_PREMIUM: required when BILLING_PROVIDER=stripe (the Stripe price id of the plan)"},
		{"smtp without from", ModeAPI, []string{"SMTP_HOST", "smtp.example.com"}, "config: MAIL_FROM: required when SMTP_HOST is set (e.g. tradeexec <billing@example.com>)"},
		{"smtp clear text off localhost", ModeAPI, []string{"SMTP_HOST", "smtp.example.com", "MAIL_FROM", "a@b.c", "SMTP_TLS", "none"}, "config: SMTP_TLS: none is allowed only for a relay on localhost (mail would cross the network in clear text)"},
		{"stripe keys", ModeAPI, []string{"BILLING_PROVIDER", "stripe", "STRIPE_SECRET_KEY", "sk_test_x"},
			"config: STRIPE_WEBHOOK_SECRET: required when BILLING_PROVIDER=stripe"},
		{"discord oauth half", ModeAPI, []string{"DISCORD_CLIENT_ID", "123"},
			"config: DISCORD_CLIENT_SECRET: required when DISCORD_CLIENT_ID is set (Discord login)"},
		{"shutdown", ModeAPI, []string{"SHUTDOWN_TIMEOUT", "forever"},
			`config: SHUTDOWN_TIMEOUT: invalid duration "forever" (e.g. 30s; between 1s and 10m)`},
		{"drain delay", ModeAPI, []string{"SHUTDOWN_DRAIN_DELAY", "2m"},
			`config: SHUTDOWN_DRAIN_DELAY: invalid duration "2m" (e.g. 5s; between 0s and 1m)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := with(productionEnv(), tt.set...)
			_, err := Load(envOf(env), tt.mode)
			if err == nil {
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			lines := strings.Split(err.Error(), "\n")
			found := false
			for _, l := range lines {
				found = found || l == tt.wantErr
			}
			if !found {
				t.Errorf("error:\n%v\nwant the line:\n%s", err, tt.wantErr)
			}
			assertNoSecrets(t, err.Error(), env)
		})
	}
}

func TestLoadCollectsAllErrors(t *testing.T) {
	env := with(productionEnv(), "DATABASE_URL", "mysql://x", "HTTP_ADDR", ":abc", "LOG_LEVEL", "loud", "JWT_SECRET", "")
	_, err := Load(envOf(env), ModeAPI)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v is not config.Errors", err)
	}
	for _, v := range []string{"DATABASE_URL", "HTTP_ADDR", "LOG_LEVEL", "JWT_SECRET"} {
		if !errs.Has(v) {
			t.Errorf("no error for %s in:\n%v", v, err)
		}
	}
}

func TestLoadUnknownMode(t *testing.T) {
	_, err := Load(envOf(nil), "serve")
	if err == nil || !strings.Contains(err.Error(), `unknown mode "serve"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestTemporalAPIKeyImpliesTLS(t *testing.T) {
	cfg, err := Load(envOf(with(productionEnv(), "TEMPORAL_API_KEY", "cloud-key-abc")), ModeWorker)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.TemporalTLS || cfg.TemporalAPIKey.Reveal() != "cloud-key-abc" {
		t.Fatalf("tls=%v key set=%v", cfg.TemporalTLS, cfg.TemporalAPIKey.IsSet())
	}
}

func TestLoadDev(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	env := map[string]string{"DATA_DIR": dir}
	cfg, err := Load(envOf(env), ModeDev)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"database", cfg.DatabaseURL.Reveal(), "sqlite://" + filepath.ToSlash(filepath.Join(dir, "tradeexec.db"))},
		{"driver", cfg.DatabaseDriver, "sqlite"},
		{"embedded temporal", cfg.EmbeddedTemporal(), true},
		{"temporal db", cfg.TemporalDBFile(), filepath.Join(dir, "temporal.db")},
		{"http", cfg.HTTPAddr, "127.0.0.1:8080"},
		{"public url", cfg.PublicURL, "http://localhost:8080"},
		{"log", cfg.LogLevel + "/" + cfg.LogFormat, "debug/console"},
		{"keyring", cfg.Keyring != nil && cfg.Keyring.Current == 1, true},
		{"payload codec", cfg.PayloadCodec != nil && cfg.PayloadCodec.Current() == 1, true},
		{"jwt length ok", len(cfg.JWTSecret.Reveal()) >= 32, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir: %v %v", fi.Mode(), err)
	}
	for _, f := range []string{"vault.keys", "jwt.secret", "temporal-payload.keys"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v err %v, want 0600", f, fi.Mode().Perm(), err)
		}
	}

	// Restarting reuses the persisted secrets.
	again, err := Load(envOf(env), ModeDev)
	if err != nil {
		t.Fatal(err)
	}
	if again.VaultKeys != cfg.VaultKeys || again.JWTSecret != cfg.JWTSecret || again.TemporalPayloadKeys != cfg.TemporalPayloadKeys {
		t.Fatal("dev secrets changed between loads")
	}

	// Environment overrides the defaults and the generated secrets.
	over, err := Load(envOf(with(env, "DATABASE_URL", "postgres://u@h/db", "TEMPORAL_ADDRESS", "localhost:7233",
		"JWT_SECRET", jwtValue, "HTTP_ADDR", "0.0.0.0:9000")), ModeDev)
	if err != nil {
		t.Fatal(err)
	}
	if over.DatabaseDriver != "postgres" || over.EmbeddedTemporal() || over.JWTSecret.Reveal() != jwtValue ||
		over.PublicURL != "http://localhost:9000" {
		t.Fatalf("overrides not applied: %v", over)
	}
}

func TestDevSecretFileMustBePrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "jwt.secret"), []byte(jwtValue+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(envOf(map[string]string{"DATA_DIR": dir}), ModeDev)
	if err == nil || !strings.Contains(err.Error(), "config: JWT_SECRET: not set and generated") ||
		!strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("err = %v", err)
	}
	assertNoSecrets(t, err.Error(), map[string]string{"JWT_SECRET": jwtValue})
}

func TestDevSecretFileInvalidContent(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vault.keys"), []byte("1:bm90MzJieXRlcw==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(envOf(map[string]string{"DATA_DIR": dir}), ModeDev)
	want := "config: VAULT_KEYS: generated " + filepath.Join(dir, "vault.keys") + ": key version 1 is 10 bytes, want 32"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v\nwant it to contain %q", err, want)
	}
}

func TestNoSecretInOutput(t *testing.T) {
	env := with(productionEnv(),
		"DISCORD_CLIENT_ID", "123", "DISCORD_CLIENT_SECRET", "discord-client-secret-value",
		"BILLING_PROVIDER", "stripe", "STRIPE_SECRET_KEY", "sk_live_secretvalue", "STRIPE_WEBHOOK_SECRET", "whsec_value",
		"STRIPE_PRICE_BASIC", "price_b", "STRIPE_PRICE_PRO", "price_p", "STRIPE_PRICE_PREMIUM", "price_x",
		"SMTP_HOST", "smtp.example.com", "SMTP_USERNAME", "mailer", "SMTP_PASSWORD", "smtp-password-value", "MAIL_FROM", "billing@example.com",
		"TEMPORAL_API_KEY", "temporal-cloud-api-key")
	cfg, err := Load(envOf(env), ModeAPI)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"String": cfg.String(),
		"%v":     fmt.Sprintf("%v", cfg),
		"%+v":    fmt.Sprintf("%+v", cfg),
		"%#v":    fmt.Sprintf("%#v", cfg),
		"%s":     fmt.Sprintf("%s", cfg),
		"%x":     fmt.Sprintf("%x %x", cfg.JWTSecret, cfg.DatabaseURL),
		"%q":     fmt.Sprintf("%q", cfg.JWTSecret),
		"%d":     fmt.Sprintf("%d", cfg.JWTSecret),
		"%+v s":  fmt.Sprintf("%+v", cfg.StripeSecretKey),
		"json":   string(js),
	}
	for name, out := range outputs {
		assertNoSecrets(t, name+": "+out, env)
	}
	s := cfg.String()
	for _, want := range []string{"postgres://trader:xxxxx@db.internal:5432/tradeexec?sslmode=require", "jwt_secret=set",
		"vault_keys=current v2 of [1 2]", "temporal_payload_keys=current v3", "temporal=temporal.internal:7233", "polar_access_token=unset"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:p@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgres://u@h/db", "postgres://u@h/db"},
		{"postgres://h/db?password=p&sslmode=require", "postgres://h/db?password=xxxxx&sslmode=require"},
		{"sqlite://.data/tradeexec.db", "sqlite://.data/tradeexec.db"},
		{"postgres://u:p%zz@h/db", "postgres:[unparseable, redacted]"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSecretFormatting(t *testing.T) {
	s := Secret("p4ss")
	for _, out := range []string{s.String(), fmt.Sprint(s), fmt.Sprintf("%v|%s|%q|%x|%X|%#v|%10s", s, s, s, s, s, s, s)} {
		if strings.Contains(out, "p4ss") || strings.Contains(out, fmt.Sprintf("%x", "p4ss")) {
			t.Errorf("secret leaked: %s", out)
		}
	}
	if Secret("").String() != "" || s.Reveal() != "p4ss" {
		t.Fatal("empty secret must print empty; Reveal must return the value")
	}
}

// assertNoSecrets fails if out contains any secret-looking value of env.
func assertNoSecrets(t *testing.T, out string, env map[string]string) {
	t.Helper()
	for _, k := range []string{"JWT_SECRET", "DISCORD_BOT_TOKEN", "DISCORD_CLIENT_SECRET", "STRIPE_SECRET_KEY",
		"STRIPE_WEBHOOK_SECRET", "TEMPORAL_API_KEY", "SMTP_PASSWORD"} {
		if v := env[k]; len(v) >= 8 && strings.Contains(out, v) {
			t.Errorf("%s value leaked in: %s", k, out)
		}
	}
	for _, v := range []string{pgPassword, testKey1, testKey2, testKey3} {
		if strings.Contains(out, v) {
			t.Errorf("secret %q leaked in: %s", v[:4]+"…", out)
		}
	}
}
