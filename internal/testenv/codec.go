package testenv

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/tradeexec/tradeexec/internal/payloadcodec"
)

var sharedCodec = sync.OnceValue(func() *payloadcodec.Codec {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("testenv: payload key: " + err.Error())
	}
	c, err := payloadcodec.Parse("1:" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		panic("testenv: payload codec: " + err.Error())
	}
	return c
})

// Codec is the payload codec of every client testenv and apptest build: a
// random key per test binary, so integration tests run on encrypted
// histories as production does (internal/payloadcodec).
func Codec() *payloadcodec.Codec { return sharedCodec() }

// Encrypted sets the shared codec on client options built by hand.
func Encrypted(o client.Options) client.Options {
	Codec().Apply(&o)
	return o
}

// Decrypt replaces every encrypted payload inside msg (a history event,
// a whole history) by its plaintext, as the Temporal UI shows it through
// the codec endpoint: leak scans and recorded histories read the content,
// not the ciphertext.
func Decrypt(msg proto.Message) error {
	return proxy.VisitPayloads(context.Background(), msg, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return Codec().Decode(p)
		},
	})
}
