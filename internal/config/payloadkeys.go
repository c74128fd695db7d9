package config

import (
	"errors"
	"strings"

	"github.com/tradeexec/tradeexec/internal/payloadcodec"
	"github.com/tradeexec/tradeexec/internal/vault"
)

// payloadKeys reads TEMPORAL_PAYLOAD_KEYS, the keys that encrypt every
// Temporal payload (internal/payloadcodec). Every mode that talks to
// Temporal needs them; dev generates one key in DATA_DIR.
func (l *loader) payloadKeys() {
	const name = "TEMPORAL_PAYLOAD_KEYS"
	raw, source := l.env(name), ""
	if raw == "" {
		switch {
		case l.dev:
			raw, source = l.devSecret(name, "temporal-payload.keys", func() (string, error) {
				k, err := vault.NewMasterKey()
				return "1:" + k, err
			})
			if raw == "" {
				return
			}
		case l.needs(ModeAPI, ModeWorker, ModeBot):
			l.required(name)
			return
		default:
			return
		}
	}
	codec, err := payloadcodec.Parse(raw)
	if err != nil {
		reason := err.Error()
		if errors.Is(err, vault.ErrInvalidKeyring) {
			reason = strings.TrimPrefix(reason, vault.ErrInvalidKeyring.Error()+": ")
		}
		if source != "" {
			reason = source + ": " + reason
		}
		l.c.add(name, reason+` (format "2:base64key,1:base64key", 32-byte keys)`)
		return
	}
	l.cfg.TemporalPayloadKeys, l.cfg.PayloadCodec = Secret(raw), codec
}
