package audit

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Checkpoints and archive segments are "signed JSON lines", gzip
// compressed: a header line (whose "key" is the object's own key, so an
// object copied under another name does not verify), body lines, and a
// trailer line {"key_id":N,"mac":"hex"} where mac is HMAC-SHA256 (see
// SigningKeys) over every byte before the trailer line.

type trailer struct {
	KeyID int    `json:"key_id"`
	MAC   string `json:"mac"`
}

// maxSignedBytes bounds the uncompressed size of a signed object.
const maxSignedBytes = 1 << 30

// ErrMalformed: an object is not a well-formed signed object of the
// expected kind.
var ErrMalformed = errors.New("audit: malformed checkpoint or segment object")

type signedBuilder struct {
	buf bytes.Buffer
	err error
}

func (b *signedBuilder) line(v any) {
	if b.err != nil {
		return
	}
	b.buf.Write(encodeJSON(v))
	b.buf.WriteByte('\n')
}

// finish signs what was written and returns the compressed object and
// the hex SHA-256 of those compressed bytes.
func (b *signedBuilder) finish(keys *SigningKeys) ([]byte, string, error) {
	if b.err != nil {
		return nil, "", b.err
	}
	id, mac := keys.sign(b.buf.Bytes())
	b.line(trailer{KeyID: id, MAC: mac})
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, "", err
	}
	if _, err := zw.Write(b.buf.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(out.Bytes())
	return out.Bytes(), hex.EncodeToString(sum[:]), nil
}

// openSigned decompresses obj, verifies its MAC and returns its lines
// without the trailer, and the key id that signed it.
func openSigned(keys *SigningKeys, obj []byte) ([][]byte, int, error) {
	zr, err := gzip.NewReader(bytes.NewReader(obj))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxSignedBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(raw) > maxSignedBytes {
		return nil, 0, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, maxSignedBytes)
	}
	body := bytes.TrimSuffix(raw, []byte("\n"))
	cut := bytes.LastIndexByte(body, '\n')
	if cut < 0 {
		return nil, 0, fmt.Errorf("%w: no trailer", ErrMalformed)
	}
	var tr trailer
	if err := json.Unmarshal(body[cut+1:], &tr); err != nil || tr.MAC == "" {
		return nil, 0, fmt.Errorf("%w: bad trailer", ErrMalformed)
	}
	signed := raw[:cut+1]
	if err := keys.verify(tr.KeyID, signed, tr.MAC); err != nil {
		return nil, 0, err
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(signed))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		lines = append(lines, bytes.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return lines, tr.KeyID, nil
}

func decodeLine(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}
