package payloadcodec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

func key(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

func mustParse(t *testing.T, keys string) *Codec {
	t.Helper()
	c, err := Parse(keys)
	require.NoError(t, err)
	return c
}

const secretText = "BUY AAPL 5 @ market user 6f1c0f0e-6a31-4a39-9b41-1a0d5a3e8e11"

func TestRoundTripHidesPlaintext(t *testing.T) {
	c := mustParse(t, "1:"+key(t))
	dc := c.DataConverter()
	p, err := dc.ToPayload(map[string]any{"signal": secretText})
	require.NoError(t, err)
	require.True(t, IsEncrypted(p))
	require.Equal(t, "1", string(p.Metadata[MetadataKeyID]))
	raw, err := p.Marshal()
	require.NoError(t, err)
	for _, needle := range []string{"AAPL", "6f1c0f0e", "json/plain"} {
		require.False(t, bytes.Contains(raw, []byte(needle)), "%q in the encrypted payload", needle)
	}
	var back map[string]any
	require.NoError(t, dc.FromPayload(p, &back))
	require.Equal(t, secretText, back["signal"])

	// Two encryptions of one value differ (random nonce).
	p2, err := dc.ToPayload(map[string]any{"signal": secretText})
	require.NoError(t, err)
	require.NotEqual(t, p.Data, p2.Data)
}

func TestVersionedKeys(t *testing.T) {
	k1, k2 := key(t), key(t)
	old := mustParse(t, "1:"+k1)
	rotated := mustParse(t, "2:"+k2+",1:"+k1)
	onlyNew := mustParse(t, "2:"+k2)

	fromOld, err := old.Encode([]*commonpb.Payload{plain(t, "before rotation")})
	require.NoError(t, err)
	fromNew, err := rotated.Encode([]*commonpb.Payload{plain(t, "after rotation")})
	require.NoError(t, err)
	require.Equal(t, "2", string(fromNew[0].Metadata[MetadataKeyID]), "the newest version encrypts")

	// The rotated keyring reads both generations.
	got, err := rotated.Decode(append(fromOld, fromNew...))
	require.NoError(t, err)
	require.Equal(t, "before rotation", text(t, got[0]))
	require.Equal(t, "after rotation", text(t, got[1]))

	// Without version 1 the old payload is refused cleanly, by name.
	_, err = onlyNew.Decode(fromOld)
	require.ErrorIs(t, err, ErrUnknownKey)
	// A keyring that never had version 2 refuses the new one.
	_, err = old.Decode(fromNew)
	require.ErrorIs(t, err, ErrUnknownKey)
}

func TestAnotherDeploymentsKeyIsRefused(t *testing.T) {
	a, b := mustParse(t, "1:"+key(t)), mustParse(t, "1:"+key(t))
	enc, err := a.Encode([]*commonpb.Payload{plain(t, secretText)})
	require.NoError(t, err)
	_, err = b.Decode(enc)
	require.ErrorIs(t, err, ErrTampered)
	require.NotContains(t, err.Error(), "AAPL")
}

func TestTamperedPayloadsAreRefused(t *testing.T) {
	c := mustParse(t, "2:"+key(t)+",1:"+key(t))
	enc, err := c.Encode([]*commonpb.Payload{plain(t, secretText)})
	require.NoError(t, err)
	cases := map[string]func(p *commonpb.Payload){
		"flipped ciphertext bit": func(p *commonpb.Payload) { p.Data[len(p.Data)-20] ^= 1 },
		"flipped tag bit":        func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 0x80 },
		"flipped nonce bit":      func(p *commonpb.Payload) { p.Data[0] ^= 1 },
		"truncated":              func(p *commonpb.Payload) { p.Data = p.Data[:10] },
		"empty":                  func(p *commonpb.Payload) { p.Data = nil },
		"key id swapped":         func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("1") },
		"key id not a number":    func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("x") },
		"key id padded":          func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("02") },
		"key id missing":         func(p *commonpb.Payload) { delete(p.Metadata, MetadataKeyID) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			p := clonePayload(enc[0])
			mutate(p)
			_, err := c.Decode([]*commonpb.Payload{p})
			require.Error(t, err)
			require.True(t, errors.Is(err, ErrTampered) || errors.Is(err, ErrUnknownKey), err)
		})
	}
	// The untouched payload still decodes (the table mutated copies).
	got, err := c.Decode(enc)
	require.NoError(t, err)
	require.Equal(t, secretText, text(t, got[0]))
}

// Histories recorded before encryption (workflows/testdata) replay through
// the same converter: payloads that are not encrypted pass through.
func TestUnencryptedPayloadsPassThrough(t *testing.T) {
	c := mustParse(t, "1:"+key(t))
	p := plain(t, "recorded before encryption")
	nilPayload := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingNil)}}
	got, err := c.Decode([]*commonpb.Payload{p, nilPayload})
	require.NoError(t, err)
	require.Same(t, p, got[0])
	require.Same(t, nilPayload, got[1])
	var s string
	require.NoError(t, c.DataConverter().FromPayload(p, &s))
	require.Equal(t, "recorded before encryption", s)
}

func TestFailureMessagesAreEncrypted(t *testing.T) {
	c := mustParse(t, "1:"+key(t))
	f := c.FailureConverter().ErrorToFailure(errors.New("order for " + secretText + " refused"))
	raw, err := f.Marshal()
	require.NoError(t, err)
	require.False(t, bytes.Contains(raw, []byte("AAPL")), "failure message in clear")
	back := c.FailureConverter().FailureToError(f)
	require.Contains(t, back.Error(), secretText)
}

func TestNoKeysIsRefused(t *testing.T) {
	_, err := New(nil)
	require.ErrorIs(t, err, ErrNoKeys)
	_, err = Parse("1:short")
	require.Error(t, err)
	require.False(t, strings.Contains(err.Error(), "short"), "the key is not echoed: %v", err)
}

func plain(t *testing.T, s string) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(s)
	require.NoError(t, err)
	return p
}

func text(t *testing.T, p *commonpb.Payload) string {
	t.Helper()
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(p, &s))
	return s
}

func clonePayload(p *commonpb.Payload) *commonpb.Payload {
	md := map[string][]byte{}
	for k, v := range p.Metadata {
		md[k] = append([]byte(nil), v...)
	}
	return &commonpb.Payload{Metadata: md, Data: append([]byte(nil), p.Data...)}
}

// BenchmarkRoundTrip: encrypt and decrypt one trade-input-sized payload
// (~1 KiB of JSON), the codec's cost per payload on the trade path.
func BenchmarkRoundTrip(b *testing.B) {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	c, err := Parse("1:" + base64.StdEncoding.EncodeToString(k))
	if err != nil {
		b.Fatal(err)
	}
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"signal": strings.Repeat("x", 1000)})
	if err != nil {
		b.Fatal(err)
	}
	in := []*commonpb.Payload{p}
	b.ReportAllocs()
	for b.Loop() {
		enc, err := c.Encode(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// Apply encrypts and sends requests uncompressed: gzip of ciphertext only
// costs CPU on both ends.
func TestApplyEncryptsAndTurnsOffGzip(t *testing.T) {
	var o client.Options
	mustParse(t, "1:"+key(t)).Apply(&o)
	require.NotNil(t, o.DataConverter)
	require.NotNil(t, o.FailureConverter)
	require.IsType(t, &client.GrpcCompressionNone{}, o.ConnectionOptions.GrpcCompression)
}
