package audit

import "strings"

// sensitiveKeyParts are matched case-insensitively against every key of an
// entry's details, at any depth; a key containing one of them is dropped
// with its value.
var sensitiveKeyParts = []string{
	"password", "passphrase", "secret", "token", "key", "credential",
	"authorization", "cookie",
}

// IsSensitiveKey reports whether a details key names a secret.
func IsSensitiveKey(k string) bool {
	lk := strings.ToLower(k)
	for _, part := range sensitiveKeyParts {
		if strings.Contains(lk, part) {
			return true
		}
	}
	return false
}

// Redact returns a deep copy of details without the keys that name secrets
// (password, passphrase, secret, token, key, credential, authorization,
// cookie — case-insensitive substrings, so "apiKey", "client_secret" and
// "accessToken" all go), in nested maps and in maps inside slices too.
// Values are never inspected, so ["apiKey","apiSecret"] listing changed
// field names survives. Append applies it to every entry.
func Redact(details map[string]any) map[string]any {
	if details == nil {
		return nil
	}
	out := make(map[string]any, len(details))
	for k, v := range details {
		if IsSensitiveKey(k) {
			continue
		}
		out[k] = redactValue(v)
	}
	return out
}

func redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return Redact(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Redact(e)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, s := range x {
			if !IsSensitiveKey(k) {
				out[k] = s
			}
		}
		return out
	default:
		return v
	}
}
