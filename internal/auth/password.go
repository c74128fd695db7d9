package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Password policy (FR-028).
const (
	MinPasswordLength = 12
	// MaxPasswordLength bounds the work an attacker can make us do per
	// attempt; it is far above what a password manager generates.
	MaxPasswordLength = 128
)

// PasswordParams are argon2id's cost parameters.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultPasswordParams follow OWASP's argon2id recommendation (19 MiB,
// 2 passes, 1 lane): ~25 ms per hash on one core.
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
	argonPrefix  = "$argon2id$"
)

// CheckPasswordPolicy returns a *PasswordPolicyError naming every rule pw
// breaks: at least 12 characters, an upper-case and a lower-case letter, a
// digit and a special character; at most 128 characters, no control
// characters.
func CheckPasswordPolicy(pw string) error {
	var unmet []string
	if !utf8.ValidString(pw) {
		return &PasswordPolicyError{Unmet: []string{"only valid text characters"}}
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength {
		unmet = append(unmet, fmt.Sprintf("at least %d characters", MinPasswordLength))
	}
	if n > MaxPasswordLength {
		unmet = append(unmet, fmt.Sprintf("at most %d characters", MaxPasswordLength))
	}
	var upper, lower, digit, special, control bool
	for _, r := range pw {
		switch {
		case unicode.IsControl(r):
			control = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case !unicode.IsLetter(r):
			special = true
		}
	}
	if !upper {
		unmet = append(unmet, "an upper-case letter")
	}
	if !lower {
		unmet = append(unmet, "a lower-case letter")
	}
	if !digit {
		unmet = append(unmet, "a digit")
	}
	if !special {
		unmet = append(unmet, "a special character")
	}
	if control {
		unmet = append(unmet, "no control characters")
	}
	if len(unmet) > 0 {
		return &PasswordPolicyError{Unmet: unmet}
	}
	return nil
}

// HashPassword returns pw's argon2id hash in PHC string format,
// $argon2id$v=19$m=…,t=…,p=…$salt$hash (unpadded standard base64).
func HashPassword(pw string, p PasswordParams) (string, error) {
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 {
		return "", errors.New("auth: invalid argon2id parameters")
	}
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", argonPrefix, argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches hash (argon2id, or bcrypt for
// hashes imported from the earlier implementation) in constant time, and
// whether the hash should be replaced by one with the parameters p.
func VerifyPassword(hash, pw string, p PasswordParams) (ok, rehash bool) {
	if len(pw) > 4*MaxPasswordLength {
		return false, false
	}
	if strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$") {
		if bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) != nil {
			return false, false
		}
		return true, true
	}
	hp, salt, key, err := parseArgon2id(hash)
	if err != nil {
		return false, false
	}
	got := argon2.IDKey([]byte(pw), salt, hp.Time, hp.Memory, hp.Threads, uint32(len(key))) // #nosec G115 -- parseArgon2id bounds len(key) to 16..64
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false
	}
	return true, hp != p || len(key) != argonKeyLen || len(salt) != argonSaltLen
}

// maxArgonMemory bounds the memory a stored hash can make us spend (a hash
// is data: it must not be a denial-of-service lever).
const maxArgonMemory = 256 * 1024

func parseArgon2id(hash string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	bad := errors.New("auth: not an argon2id hash")
	rest, ok := strings.CutPrefix(hash, argonPrefix)
	if !ok {
		return p, nil, nil, bad
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 4 {
		return p, nil, nil, bad
	}
	var version int
	if _, err := fmt.Sscanf(parts[0], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, bad
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[1], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); err != nil {
		return p, nil, nil, bad
	}
	if p.Memory == 0 || p.Memory > maxArgonMemory || p.Time == 0 || p.Time > 16 || threads == 0 || threads > 16 {
		return p, nil, nil, bad
	}
	p.Threads = uint8(threads)
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[2])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, bad
	}
	key, err := enc.DecodeString(parts[3])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, bad
	}
	return p, salt, key, nil
}

// GeneratePassword returns a random password that meets the policy: 20
// characters from letters, digits and specials, with at least one of each
// class (used for the dev demo trader).
func GeneratePassword() (string, error) {
	const (
		upper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		lower   = "abcdefghijkmnopqrstuvwxyz"
		digits  = "23456789"
		special = "!#%+-=?@^_"
		all     = upper + lower + digits + special
	)
	classes := []string{upper, lower, digits, special}
	out := make([]byte, 20)
	for i := range out {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		c, err := randIndex(len(set))
		if err != nil {
			return "", err
		}
		out[i] = set[c]
	}
	// Shuffle so the class order is not fixed (Fisher–Yates).
	for i := len(out) - 1; i > 0; i-- {
		j, err := randIndex(i + 1)
		if err != nil {
			return "", err
		}
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}

// randIndex returns a uniform random int in [0, n), n ≤ 256.
func randIndex(n int) (int, error) {
	limit := 256 - 256%n
	var b [1]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		if int(b[0]) < limit {
			return int(b[0]) % n, nil
		}
	}
}
