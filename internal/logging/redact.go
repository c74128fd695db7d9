package logging

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Redacted replaces every redacted value.
const Redacted = "[REDACTED]"

// NewRedactingCore wraps core so that nothing it writes carries a secret:
//
//   - a field whose key names a secret (token, secret, password, key,
//     credential, authorization, cookie, signature…; see SensitiveKey) has
//     its value replaced by "[REDACTED]", at any depth of objects, arrays,
//     maps and structs, and so does everything inside a namespace so named;
//   - the message and every string value (errors and Stringers included) are
//     scrubbed of bearer/basic credentials, URL passwords, and secret-named
//     query parameters and JSON members.
func NewRedactingCore(core zapcore.Core) zapcore.Core { return &redactingCore{Core: core} }

type redactingCore struct{ zapcore.Core }

func (c *redactingCore) With(fields []zapcore.Field) zapcore.Core {
	return &redactingCore{Core: c.Core.With(redactFields(fields))}
}

func (c *redactingCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c) // this wrapper, so Write below runs
	}
	return ce
}

func (c *redactingCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	e.Message = ScrubString(e.Message)
	return c.Core.Write(e, redactFields(fields))
}

// redactFields returns fields with secrets replaced; the input is not modified.
func redactFields(fields []zapcore.Field) []zapcore.Field {
	out := make([]zapcore.Field, len(fields))
	inSecretNamespace := false
	for i, f := range fields {
		if f.Type == zapcore.NamespaceType {
			inSecretNamespace = inSecretNamespace || SensitiveKey(f.Key)
			out[i] = f
			continue
		}
		if inSecretNamespace {
			out[i] = redactedField(f)
			continue
		}
		out[i] = redactField(f)
	}
	return out
}

func redactedField(f zapcore.Field) zapcore.Field {
	if f.Type == zapcore.SkipType {
		return f
	}
	return zap.String(f.Key, Redacted)
}

func redactField(f zapcore.Field) zapcore.Field {
	if SensitiveKey(f.Key) {
		return redactedField(f)
	}
	switch f.Type {
	case zapcore.StringType:
		f.String = ScrubString(f.String)
	case zapcore.ByteStringType, zapcore.BinaryType:
		if b, ok := f.Interface.([]byte); ok {
			if s := string(b); ScrubString(s) != s {
				return zap.String(f.Key, ScrubString(s))
			}
		}
	case zapcore.ErrorType:
		if err, ok := f.Interface.(error); ok && err != nil {
			if msg, ok := safeString(err.Error); ok && ScrubString(msg) != msg {
				return zap.String(f.Key, ScrubString(msg))
			}
		}
	case zapcore.StringerType:
		if s, ok := f.Interface.(fmt.Stringer); ok && s != nil {
			if str, ok := safeString(s.String); ok && ScrubString(str) != str {
				return zap.String(f.Key, ScrubString(str))
			}
		}
	case zapcore.ObjectMarshalerType, zapcore.InlineMarshalerType:
		if m, ok := f.Interface.(zapcore.ObjectMarshaler); ok {
			f.Interface = redactObject{m}
		}
	case zapcore.ArrayMarshalerType:
		if m, ok := f.Interface.(zapcore.ArrayMarshaler); ok {
			f.Interface = redactArray{m}
		}
	case zapcore.ReflectType:
		f.Interface = redactReflected(f.Interface)
	}
	return f
}

// safeString calls fn, treating a panic (nil receiver) as "no string".
func safeString(fn func() string) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			s, ok = "", false
		}
	}()
	return fn(), true
}

// redactReflected round-trips v through JSON (which is how zap encodes
// reflected values anyway) and redacts the resulting tree.
func redactReflected(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v // zap reports the same marshalling error
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return v
	}
	return redactTree(tree)
}

func redactTree(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			if SensitiveKey(k) {
				t[k] = Redacted
			} else {
				t[k] = redactTree(val)
			}
		}
		return t
	case []any:
		for i := range t {
			t[i] = redactTree(t[i])
		}
		return t
	case string:
		return ScrubString(t)
	default:
		return v
	}
}

// secretWords make a key sensitive wherever they appear in it.
var secretWords = map[string]bool{
	"token": true, "tokens": true, "secret": true, "secrets": true,
	"password": true, "passwords": true, "passwd": true, "pwd": true, "passphrase": true,
	"key": true, "keys": true, "apikey": true, "privatekey": true,
	"credential": true, "credentials": true, "creds": true,
	"authorization": true, "cookie": true, "cookies": true,
	"signature": true, "otp": true, "mfa": true, "dsn": true,
}

// metadataSuffixes, as the last word, make a key describe a secret rather
// than hold it: key_version, token_type, password_changed_at, key_id.
var metadataSuffixes = map[string]bool{
	"id": true, "ids": true, "version": true, "versions": true, "count": true,
	"type": true, "kind": true, "name": true, "names": true, "at": true,
	"expires": true, "expiry": true, "expired": true, "ttl": true, "age": true,
	"present": true, "set": true, "len": true, "length": true, "status": true,
	"source": true, "provider": true, "rotated": true, "valid": true, "error": true,
}

// SensitiveKey reports whether a field named key holds a secret. The key is
// split into words at non-letters and camelCase boundaries ("X-Api-Key",
// "accessToken", "stripe_webhook_secret"); it is sensitive if a word is a
// secret word ("auth" only as the last word) unless the last word marks
// metadata. "session_id" is sensitive: a session id is a bearer credential.
func SensitiveKey(key string) bool {
	words := splitWords(key)
	if len(words) == 0 {
		return false
	}
	last := words[len(words)-1]
	if last == "auth" {
		return true
	}
	for i, w := range words {
		if w == "session" && i+1 < len(words) && (words[i+1] == "id" || words[i+1] == "cookie") {
			return true
		}
	}
	if metadataSuffixes[last] && len(words) > 1 {
		return false
	}
	for _, w := range words {
		if secretWords[w] {
			return true
		}
	}
	return false
}

func splitWords(key string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(key)
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case unicode.IsUpper(r) && len(cur) > 0:
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || (unicode.IsUpper(rs[i-1]) && nextLower) {
				flush() // accessToken → access|Token, APIKey → API|Key
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

var (
	// "Bearer abc.def", "Basic dXNlcjpwYXNz" in headers echoed into messages.
	authSchemeRE = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/-]{8,}=*)`)
	// scheme://user:password@host
	urlPasswordRE = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*):[^@/\s]+@`)
	// ?api_key=…, &access_token=…, password=… (query strings, form bodies, key=value logs)
	paramRE = regexp.MustCompile(`(?i)((?:^|[?&;,\s"'(])[a-z0-9_.-]*(?:token|secret|passw(?:or)?d|api[_-]?key|apikey|private[_-]?key|signature|credential)[a-z0-9_.-]*=)[^&\s"',;)]+`)
	// "apiSecret": "…" in JSON bodies quoted inside errors
	jsonMemberRE = regexp.MustCompile(`(?i)("[a-z0-9_.-]*(?:token|secret|passw(?:or)?d|api[_-]?key|apikey|private[_-]?key|signature|credential)[a-z0-9_.-]*"\s*:\s*")(?:[^"\\]|\\.)*"`)
)

var scrubTriggers = []string{"bearer", "basic", "token", "://", "secret", "passw", "key", "signature", "credential"}

// ScrubString removes credentials embedded in free text; text without any
// trigger word is returned unchanged without running the patterns.
func ScrubString(s string) string {
	lower := strings.ToLower(s)
	triggered := false
	for _, t := range scrubTriggers {
		if strings.Contains(lower, t) {
			triggered = true
			break
		}
	}
	if !triggered {
		return s
	}
	s = urlPasswordRE.ReplaceAllString(s, "${1}:"+Redacted+"@")
	s = jsonMemberRE.ReplaceAllString(s, "${1}"+Redacted+`"`)
	s = paramRE.ReplaceAllString(s, "${1}"+Redacted)
	s = authSchemeRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := authSchemeRE.FindStringSubmatch(m)
		// "Basic information" is prose; a credential has digits, symbols or mixed case.
		if strings.EqualFold(sub[1], "basic") && !looksEncoded(sub[3]) {
			return m
		}
		return sub[1] + sub[2] + Redacted
	})
	return s
}

func looksEncoded(s string) bool {
	var lower, upper, other bool
	for _, r := range s {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		default:
			other = true
		}
	}
	return other || (lower && upper && strings.ToUpper(s[:1])+strings.ToLower(s[1:]) != s)
}
