package paper

import (
	"github.com/tradeexec/tradeexec/internal/broker"
)

// CredentialAccountID is the credential field naming the paper account of a
// connection.
const CredentialAccountID = "account_id"

// Factory returns the broker.Factory for paper connections: the adapter
// trades the engine's account named by cfg.Credentials["account_id"].
func Factory(e *Engine) broker.Factory {
	return func(cfg broker.Config) (broker.Broker, error) {
		id := cfg.Credentials[CredentialAccountID]
		if id == "" || len(id) > maxAccountIDLen {
			return nil, brokerErr(broker.KindAuthFailed, "paper connection has no valid account id")
		}
		return e.Broker(id), nil
	}
}
