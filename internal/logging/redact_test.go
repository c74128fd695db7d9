package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

const leak = "S3CR3T-v4lue-xyz"

func TestSensitiveKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"token", true}, {"access_token", true}, {"accessToken", true}, {"refresh-token", true},
		{"api_key", true}, {"apiKey", true}, {"APIKey", true}, {"X-Api-Key", true}, {"apikey", true},
		{"secret", true}, {"apiSecret", true}, {"stripe_webhook_secret", true}, {"client_secret", true},
		{"password", true}, {"Password", true}, {"passwd", true}, {"new_password", true},
		{"credentials", true}, {"brokerCredential", true}, {"Authorization", true}, {"authorization", true},
		{"basic_auth", true}, {"auth", true}, {"cookie", true}, {"Set-Cookie", true}, {"signature", true},
		{"private_key", true}, {"privateKey", true}, {"master_key", true}, {"idempotency_key", true},
		{"session_id", true}, {"sessionId", true}, {"database_dsn", true},
		// metadata about secrets, and ordinary fields
		{"key_version", false}, {"keyVersion", false}, {"token_type", false}, {"token_expires_at", false},
		{"password_changed_at", false}, {"key_id", false}, {"credential_count", false},
		{"user_id", false}, {"symbol", false}, {"keyword", false}, {"monkey", false}, {"broker", false},
		{"auth_method", false}, {"market_session", false}, {"request_id", false}, {"", false},
		{"msg", false}, {"error", false}, {"tokenizer", false},
	}
	for _, tt := range tests {
		if got := SensitiveKey(tt.key); got != tt.want {
			t.Errorf("SensitiveKey(%q) = %v, want %v (words %q)", tt.key, got, tt.want, splitWords(tt.key))
		}
	}
}

func TestScrubString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain message about AAPL", "plain message about AAPL"},
		{"request failed: Authorization: Bearer " + leak, "request failed: Authorization: Bearer [REDACTED]"},
		{"header Basic dXNlcjpwYXNzd29yZA==", "header Basic [REDACTED]"},
		{"Basic information about plans", "Basic information about plans"},
		{"dial postgres://trader:" + leak + "@db:5432/x", "dial postgres://trader:[REDACTED]@db:5432/x"},
		{"GET https://api.example.com/v1/orders?symbol=AAPL&api_key=" + leak + "&x=1",
			"GET https://api.example.com/v1/orders?symbol=AAPL&api_key=[REDACTED]&x=1"},
		{"oauth: access_token=" + leak + " expires", "oauth: access_token=[REDACTED] expires"},
		{`broker said {"error":"bad","apiSecret":"` + leak + `"}`, `broker said {"error":"bad","apiSecret":"[REDACTED]"}`},
		{`{"password": "a\"b` + leak + `", "user":"x"}`, `{"password": "[REDACTED]", "user":"x"}`},
		{"token refreshed for user 42", "token refreshed for user 42"},
		{"signature=" + leak, "signature=[REDACTED]"},
	}
	for _, tt := range tests {
		if got := ScrubString(tt.in); got != tt.want {
			t.Errorf("ScrubString(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

type creds struct {
	User   string
	APIKey string
}

func (c creds) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("user", c.User)
	enc.AddString("api_key", c.APIKey)
	enc.OpenNamespace("credentials")
	enc.AddString("anything", c.APIKey)
	enc.AddInt("pin", 1234)
	return nil
}

type holder struct{ items []creds }

func (h holder) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	for _, c := range h.items {
		if err := enc.AppendObject(c); err != nil {
			return err
		}
	}
	enc.AppendString("Bearer " + leak)
	return nil
}

type stringer struct{}

func (stringer) String() string { return "conn https://u:" + leak + "@h/x" }

func newTestLogger(t *testing.T) (*zap.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	l, err := New(Options{Level: "debug", Format: "json", Output: &buf})
	if err != nil {
		t.Fatal(err)
	}
	return l, &buf
}

func TestRedactingCore(t *testing.T) {
	type brokerCreds struct {
		APIKey    string `json:"api_key"`
		APISecret string `json:"apiSecret"`
		Account   string `json:"account"`
	}
	tests := []struct {
		name   string
		log    func(l *zap.Logger)
		keep   []string // must appear in the output
		redact int      // how many "[REDACTED]" at least
	}{
		{"string field", func(l *zap.Logger) { l.Info("x", zap.String("api_key", leak), zap.String("symbol", "AAPL")) },
			[]string{`"symbol":"AAPL"`, `"api_key":"[REDACTED]"`}, 1},
		{"non-string secret", func(l *zap.Logger) { l.Info("x", zap.Int("otp", 123456), zap.Binary("private_key", []byte(leak))) },
			[]string{`"otp":"[REDACTED]"`}, 2},
		{"with fields", func(l *zap.Logger) { l.With(zap.String("Authorization", "Bearer "+leak)).Info("x") },
			[]string{`"Authorization":"[REDACTED]"`}, 1},
		{"message", func(l *zap.Logger) { l.Info("calling with token=" + leak) },
			[]string{`"msg":"calling with token=[REDACTED]"`}, 1},
		{"error", func(l *zap.Logger) { l.Warn("x", zap.Error(errors.New("GET /v1?apikey="+leak+" 401"))) },
			[]string{`"error":"GET /v1?apikey=[REDACTED] 401"`}, 1},
		{"stringer", func(l *zap.Logger) { l.Info("x", zap.Stringer("conn", stringer{})) },
			[]string{`"conn":"conn https://u:[REDACTED]@h/x"`}, 1},
		{"object", func(l *zap.Logger) { l.Info("x", zap.Object("conn", creds{User: "bob", APIKey: leak})) },
			[]string{`"user":"bob"`, `"api_key":"[REDACTED]"`, `"anything":"[REDACTED]"`, `"pin":"[REDACTED]"`}, 3},
		{"inline", func(l *zap.Logger) { l.Info("x", zap.Inline(creds{User: "bob", APIKey: leak})) },
			[]string{`"user":"bob"`}, 2},
		{"array", func(l *zap.Logger) { l.Info("x", zap.Array("conns", holder{[]creds{{"a", leak}, {"b", leak}}})) },
			[]string{`"user":"a"`, `"user":"b"`, `"Bearer [REDACTED]"`}, 5},
		{"reflected struct", func(l *zap.Logger) {
			l.Info("x", zap.Any("conn", brokerCreds{APIKey: leak, APISecret: leak, Account: "PA123"}))
		}, []string{`"account":"PA123"`}, 2},
		{"reflected map", func(l *zap.Logger) {
			l.Info("x", zap.Any("headers", map[string]any{"X-Api-Key": leak, "nested": map[string]string{"password": leak}, "ok": "yes"}))
		}, []string{`"ok":"yes"`}, 2},
		{"dict", func(l *zap.Logger) { l.Info("x", zap.Dict("req", zap.String("token", leak), zap.String("path", "/x"))) },
			[]string{`"path":"/x"`}, 1},
		{"namespace", func(l *zap.Logger) {
			l.Info("x", zap.Namespace("credentials"), zap.String("value", leak), zap.String("other", leak))
		}, nil, 2},
		{"strings", func(l *zap.Logger) { l.Info("x", zap.Strings("args", []string{"--password=" + leak, "ok"})) },
			[]string{`"ok"`}, 1},
		{"bytestring", func(l *zap.Logger) { l.Info("x", zap.ByteString("body", []byte(`{"secret":"`+leak+`"}`))) },
			nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, buf := newTestLogger(t)
			tt.log(l)
			out := buf.String()
			if strings.Contains(out, leak) {
				t.Fatalf("secret leaked:\n%s", out)
			}
			if n := strings.Count(out, Redacted); n < tt.redact {
				t.Errorf("%d redactions, want >= %d:\n%s", n, tt.redact, out)
			}
			for _, k := range tt.keep {
				if !strings.Contains(out, k) {
					t.Errorf("output lacks %s:\n%s", k, out)
				}
			}
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Errorf("output is not one JSON object: %v\n%s", err, out)
			}
		})
	}
}

func TestRedactionDoesNotMutateCallerFields(t *testing.T) {
	l, _ := newTestLogger(t)
	fields := []zap.Field{zap.String("token", leak)}
	l.Info("x", fields...)
	if fields[0].String != leak {
		t.Fatal("caller's field slice was modified")
	}
}

func TestLevelFilteringSkipsRedaction(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(Options{Level: "warn", Output: &buf})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("dropped", zap.String("token", leak))
	if buf.Len() != 0 {
		t.Fatalf("info written at warn level: %s", buf.String())
	}
}
