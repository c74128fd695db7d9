package vault

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tradeexec/tradeexec/internal/broker"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func ring(current int, versions ...int) *Keyring {
	kr := &Keyring{Keys: map[int][]byte{}, Current: current}
	for _, v := range versions {
		kr.Keys[v] = key(byte(v))
	}
	return kr
}

func TestRoundTrip(t *testing.T) {
	kr := ring(1, 1)
	for _, pt := range [][]byte{[]byte(`{"api_key":"AK","api_secret":"s3cr3t"}`), {}, bytes.Repeat([]byte("x"), 4096)} {
		blob, v, err := kr.Encrypt("user-1", "conn-1", pt)
		if err != nil || v != 1 {
			t.Fatalf("encrypt: v=%d err=%v", v, err)
		}
		if len(pt) > 8 && bytes.Contains(blob, pt[:8]) {
			t.Fatal("plaintext visible in blob")
		}
		got, err := kr.Decrypt("user-1", "conn-1", blob)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("decrypt: %q, %v", got, err)
		}
	}
	// Two encryptions of the same plaintext differ (random nonce).
	a, _, _ := kr.Encrypt("u", "r", []byte("same"))
	b, _, _ := kr.Encrypt("u", "r", []byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("nonce reused")
	}
}

func TestDecryptRefuses(t *testing.T) {
	kr := ring(1, 1)
	blob, _, err := kr.Encrypt("user-1", "conn-1", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		c := append([]byte(nil), blob...)
		c[i] ^= 0x02
		return c
	}
	tests := []struct {
		name   string
		user   string
		row    string
		blob   []byte
		target error
	}{
		{"wrong row", "user-1", "conn-2", blob, ErrTampered},
		{"wrong user", "user-2", "conn-1", blob, ErrTampered},
		{"ids shifted between user and row", "user-1c", "onn-1", blob, ErrTampered},
		{"bit flip in ciphertext", "user-1", "conn-1", flip(len(blob) - 20), ErrTampered},
		{"bit flip in tag", "user-1", "conn-1", flip(len(blob) - 1), ErrTampered},
		{"bit flip in nonce", "user-1", "conn-1", flip(headerSize + 2), ErrTampered},
		{"bit flip in format byte", "user-1", "conn-1", flip(0), ErrTampered},
		{"version changed", "user-1", "conn-1", flip(4), ErrUnknownKeyVersion}, // 1 -> 3
		{"truncated", "user-1", "conn-1", blob[:headerSize+nonceSize+3], ErrTampered},
		{"empty", "user-1", "conn-1", nil, ErrTampered},
		{"missing row id", "user-1", "", blob, ErrMissingBinding},
		{"user id too long", strings.Repeat("u", maxBindingLen+1), "conn-1", blob, ErrMissingBinding},
		{"row id too long", "user-1", strings.Repeat("c", maxBindingLen+1), blob, ErrMissingBinding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := kr.Decrypt(tt.user, tt.row, tt.blob)
			if !errors.Is(err, tt.target) {
				t.Fatalf("err = %v, want %v", err, tt.target)
			}
			if pt != nil {
				t.Fatal("plaintext returned with an error")
			}
		})
	}
}

func TestEveryHeldVersionDecrypts(t *testing.T) {
	blobs := map[int][]byte{}
	for v := 1; v <= 6; v++ {
		b, got, err := ring(v, v).Encrypt("u", "r", []byte(fmt.Sprint("v", v)))
		if err != nil || got != v {
			t.Fatalf("encrypt v%d: %d %v", v, got, err)
		}
		blobs[v] = b
	}
	// No window: with current 6 every version held decrypts, v1 included
	// (the old keyring accepted only current-2…current and stranded v1..v3).
	kr := ring(6, 1, 2, 3, 4, 5, 6)
	for v := 1; v <= 6; v++ {
		pt, err := kr.Decrypt("u", "r", blobs[v])
		if err != nil || string(pt) != fmt.Sprint("v", v) {
			t.Fatalf("v%d with current 6: %q %v", v, pt, err)
		}
	}
	// Key 1 removed from the keyring (retired): reported as retired.
	if _, err := ring(6, 2, 3, 4, 5, 6).Decrypt("u", "r", blobs[1]); !errors.Is(err, ErrKeyRetired) {
		t.Fatalf("err = %v, want ErrKeyRetired", err)
	}
	// A version between held ones whose key is missing is unknown.
	if _, err := ring(4, 2, 4).Decrypt("u", "r", blobs[3]); !errors.Is(err, ErrUnknownKeyVersion) {
		t.Fatalf("err = %v, want ErrUnknownKeyVersion", err)
	}
	// A staged newer key decrypts blobs written by already-upgraded processes.
	if _, err := ring(3, 2, 3, 4).Decrypt("u", "r", blobs[4]); err != nil {
		t.Fatalf("staged v4 with current 3: %v", err)
	}
	// EncryptVersion writes under a held version that is not current.
	b, v, err := ring(3, 2, 3, 4).EncryptVersion(4, "u", "r", []byte("x"))
	if err != nil || v != 4 {
		t.Fatalf("EncryptVersion: %d %v", v, err)
	}
	if got, _ := Version(b); got != 4 {
		t.Fatalf("version %d", got)
	}
	if _, _, err := ring(3, 2, 3).EncryptVersion(4, "u", "r", []byte("x")); !errors.Is(err, ErrUnknownKeyVersion) {
		t.Fatalf("EncryptVersion missing: %v", err)
	}
}

func TestRotate(t *testing.T) {
	old := ring(2, 2)
	blob, _, err := old.Encrypt("u", "r", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	kr := ring(4, 2, 3, 4)
	if need, _ := kr.NeedsRotation(blob); !need {
		t.Fatal("v2 blob should need rotation")
	}
	rotated, v, err := kr.Rotate("u", "r", blob)
	if err != nil || v != 4 {
		t.Fatalf("rotate: v=%d err=%v", v, err)
	}
	if got, _ := Version(rotated); got != 4 {
		t.Fatalf("rotated version %d", got)
	}
	pt, err := ring(6, 4, 5, 6).Decrypt("u", "r", rotated) // v2 key gone, v4 still accepted
	if err != nil || string(pt) != "secret" {
		t.Fatalf("after rotation: %q %v", pt, err)
	}
	// Rotating a current blob is a no-op.
	same, v, err := kr.Rotate("u", "r", rotated)
	if err != nil || v != 4 || !bytes.Equal(same, rotated) {
		t.Fatalf("no-op rotate: v=%d err=%v", v, err)
	}
	// Rotation keeps the binding: the rotated blob does not open for another row.
	if _, err := kr.Decrypt("u", "other", rotated); !errors.Is(err, ErrTampered) {
		t.Fatalf("err = %v", err)
	}
	// A retired blob (its version below every held one) cannot be rotated.
	v1, _, _ := ring(1, 1).Encrypt("u", "r", []byte("x"))
	if _, _, err := kr.Rotate("u", "r", v1); !errors.Is(err, ErrKeyRetired) {
		t.Fatalf("err = %v", err)
	}
}

func TestJSONCredentials(t *testing.T) {
	kr := ring(1, 1)
	creds := broker.Credentials{"api_key": "AKID", "api_secret": "hunter2"}
	blob, v, err := kr.EncryptJSON("u", "conn", creds)
	if err != nil || v != 1 {
		t.Fatal(err)
	}
	var got broker.Credentials
	if err := kr.DecryptJSON("u", "conn", blob, &got); err != nil {
		t.Fatal(err)
	}
	if got["api_key"] != "AKID" || got["api_secret"] != "hunter2" || len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	if err := kr.DecryptJSON("u", "other", blob, &got); !errors.Is(err, ErrTampered) {
		t.Fatalf("err = %v", err)
	}
}

func TestParseKeyring(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(key(1))
	k2 := base64.RawURLEncoding.EncodeToString(key(2))
	short := base64.StdEncoding.EncodeToString([]byte("short"))
	tests := []struct {
		name    string
		in      string
		current int
		wantErr bool
	}{
		{"two versions, highest is current", "2:" + k2 + ",1:" + k1, 2, false},
		{"order does not matter, spaces ok", " 1:" + k1 + " , 2:" + k2, 2, false},
		{"single", "7:" + k1, 7, false},
		{"empty", "", 0, true},
		{"no colon", k1, 0, true},
		{"bad version", "x:" + k1, 0, true},
		{"zero version", "0:" + k1, 0, true},
		{"duplicate", "1:" + k1 + ",1:" + k1, 0, true},
		{"short key", "1:" + short, 0, true},
		{"not base64", "1:!!!", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := ParseKeyring(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidKeyring) {
					t.Fatalf("err = %v, want ErrInvalidKeyring", err)
				}
				if err != nil && (strings.Contains(err.Error(), k1) || strings.Contains(err.Error(), short)) {
					t.Fatal("key material in error")
				}
				return
			}
			if err != nil || kr.Current != tt.current {
				t.Fatalf("kr=%v err=%v", kr, err)
			}
		})
	}
}

func TestKeyringNeverPrintsKeys(t *testing.T) {
	kr := ring(2, 1, 2)
	for _, s := range []string{fmt.Sprint(kr), fmt.Sprintf("%v %+v %#v %s", kr, kr, kr, kr)} {
		if strings.Contains(s, string(key(1))) || strings.Contains(s, "[1 1 1") {
			t.Fatalf("key material printed: %s", s)
		}
	}
	if !strings.Contains(kr.String(), "current: 2") {
		t.Fatal(kr.String())
	}
}

func TestNewMasterKey(t *testing.T) {
	a, err := NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewMasterKey()
	if a == b {
		t.Fatal("same key twice")
	}
	kr, err := ParseKeyring("1:" + a)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := kr.Encrypt("u", "r", []byte("x")); err != nil {
		t.Fatal(err)
	}
}

func TestInvalidKeyringRefusesWork(t *testing.T) {
	for _, kr := range []*Keyring{nil, {}, {Keys: map[int][]byte{1: key(1)}, Current: 2}, {Keys: map[int][]byte{1: []byte("short")}, Current: 1}} {
		if _, _, err := kr.Encrypt("u", "r", []byte("x")); !errors.Is(err, ErrInvalidKeyring) {
			t.Fatalf("%v: err = %v", kr, err)
		}
	}
}

func TestEncryptBindingBounds(t *testing.T) {
	kr := ring(1, 1)
	long := strings.Repeat("x", maxBindingLen+1)
	for _, ids := range [][2]string{{"", "r"}, {"u", ""}, {long, "r"}, {"u", long}} {
		if _, _, err := kr.Encrypt(ids[0], ids[1], []byte("pt")); !errors.Is(err, ErrMissingBinding) {
			t.Errorf("Encrypt(%.8q, %.8q) err = %v, want ErrMissingBinding", ids[0], ids[1], err)
		}
	}
	max := strings.Repeat("x", maxBindingLen)
	blob, _, err := kr.Encrypt(max, max, []byte("pt"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := kr.Decrypt(max, max, blob); err != nil || string(pt) != "pt" {
		t.Fatalf("Decrypt at the bound = %q, %v", pt, err)
	}
}
