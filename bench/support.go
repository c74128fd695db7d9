package main

import (
	"crypto/rand"
	"encoding/base64"

	"go.temporal.io/sdk/client"

	"github.com/tradeexec/tradeexec/internal/payloadcodec"
	"github.com/tradeexec/tradeexec/internal/trade"
)

func tradeClientOrderID(workflowID string) string { return trade.ClientOrderID(workflowID, "entry") }

// quietLogger silences the Temporal SDK's own logging during measurement.
type quietLogger struct{}

func (quietLogger) Debug(string, ...interface{}) {}
func (quietLogger) Info(string, ...interface{})  {}
func (quietLogger) Warn(string, ...interface{})  {}
func (quietLogger) Error(string, ...interface{}) {}

// encryptedClient dials Temporal as production does: every payload
// encrypted (internal/payloadcodec) with a fresh key, so the figures
// include the codec's cost.
func encryptedClient(temporalAddr string) (client.Client, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	codec, err := payloadcodec.Parse("1:" + base64.StdEncoding.EncodeToString(key))
	if err != nil {
		return nil, err
	}
	opts := client.Options{HostPort: temporalAddr, Logger: quietLogger{}}
	codec.Apply(&opts)
	return client.Dial(opts)
}
