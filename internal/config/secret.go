package config

import (
	"fmt"
	"log/slog"
)

// Secret holds a sensitive setting. It prints, marshals and logs as
// "[redacted]" (or "" when empty) however it is formatted; Reveal returns the
// value for the one place that needs it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s != "" }

func (s Secret) masked() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements fmt.Stringer without revealing the value.
func (s Secret) String() string { return s.masked() }

// GoString implements fmt.GoStringer without revealing the value.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.masked()) }

// Format makes every verb (%x and %d included) print the masked form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = fmt.Fprint(f, s.GoString())
		return
	}
	if verb == 'q' {
		_, _ = fmt.Fprintf(f, "%q", s.masked())
		return
	}
	_, _ = fmt.Fprint(f, s.masked())
}

// MarshalJSON implements json.Marshaler without revealing the value.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.masked() + `"`), nil }

// MarshalText implements encoding.TextMarshaler without revealing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.masked()), nil }

// LogValue implements slog.LogValuer without revealing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.masked()) }
