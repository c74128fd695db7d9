package auth

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestCheckPasswordPolicy(t *testing.T) {
	tests := []struct {
		name  string
		pw    string
		unmet []string
	}{
		{"meets every rule", "Correct-Horse-7", nil},
		{"unicode letters count", "Ünïcödé-Pässwörd-9", nil},
		{"space is special", "Correct Horse 7x", nil},
		{"too short", "Ab1!ab1!ab1", []string{"at least 12 characters"}},
		{"no upper", "correct-horse-7", []string{"an upper-case letter"}},
		{"no lower", "CORRECT-HORSE-7", []string{"a lower-case letter"}},
		{"no digit", "Correct-Horse-x", []string{"a digit"}},
		{"no special", "CorrectHorse77", []string{"a special character"}},
		{"control character", "Correct-Horse-7\x00", []string{"no control characters"}},
		{"empty", "", []string{"at least 12 characters", "an upper-case letter", "a lower-case letter", "a digit", "a special character"}},
		{"too long", "Aa1!" + strings.Repeat("x", MaxPasswordLength), []string{"at most 128 characters"}},
		{"invalid utf-8", "Correct-Horse-7\xff", []string{"only valid text characters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPasswordPolicy(tt.pw)
			if tt.unmet == nil {
				require.NoError(t, err)
				return
			}
			var pe *PasswordPolicyError
			require.True(t, errors.As(err, &pe), "err = %v", err)
			require.Equal(t, tt.unmet, pe.Unmet)
		})
	}
}

func TestHashAndVerifyPassword(t *testing.T) {
	hash, err := HashPassword(goodPassword, testParams)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=1024,t=1,p=1$"), hash)
	require.NotContains(t, hash, goodPassword)

	other, err := HashPassword(goodPassword, testParams)
	require.NoError(t, err)
	require.NotEqual(t, hash, other, "salted")

	ok, rehash := VerifyPassword(hash, goodPassword, testParams)
	require.True(t, ok)
	require.False(t, rehash)
	ok, rehash = VerifyPassword(hash, goodPassword, DefaultPasswordParams)
	require.True(t, ok)
	require.True(t, rehash, "parameters changed")

	for _, wrong := range []string{"", "correct-horse-7-battery", goodPassword + " ", strings.Repeat("x", 10000)} {
		ok, _ := VerifyPassword(hash, wrong, testParams)
		require.False(t, ok, "%q", wrong)
	}
}

func TestVerifyPasswordLegacyBcrypt(t *testing.T) {
	b, err := bcrypt.GenerateFromPassword([]byte(goodPassword), bcrypt.MinCost)
	require.NoError(t, err)
	ok, rehash := VerifyPassword(string(b), goodPassword, testParams)
	require.True(t, ok)
	require.True(t, rehash, "bcrypt hashes are upgraded")
	ok, _ = VerifyPassword(string(b), "Wrong-Horse-7-Battery", testParams)
	require.False(t, ok)
}

func TestVerifyPasswordRejectsMalformedHashes(t *testing.T) {
	for _, h := range []string{
		"", "plain", "$argon2id$", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", // memory bomb
		"$argon2id$v=19$m=1024,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$",
	} {
		ok, _ := VerifyPassword(h, goodPassword, testParams)
		require.False(t, ok, h)
	}
}

func TestGeneratePasswordMeetsPolicy(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		pw, err := GeneratePassword()
		require.NoError(t, err)
		require.NoError(t, CheckPasswordPolicy(pw), pw)
		require.False(t, seen[pw])
		seen[pw] = true
	}
}

func bcryptHash(pw string) (string, error) {
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	return string(b), err
}
