package brokerconn

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// Actor is who asked for a change, for the audit log.
type Actor struct {
	UserID    string
	IPAddress string
	UserAgent string
}

// Disconnect ends a connection of the trader: it becomes inactive, its
// credentials are erased (the row stays for the trades that name it), the
// trader's defaults stop pointing at it, and the audit log and the
// dashboard hear of it — in one transaction. Disconnecting again is a
// no-op; done reports whether this call changed anything.
func (s *Service) Disconnect(ctx context.Context, who Actor, id string) (msg string, done bool, err error) {
	var row schema.BrokerConnection
	err = store.InTx(ctx, s.DB, func(tx *gorm.DB) error {
		done = false
		var err error
		row, err = lockConnection(tx, "id = ? AND user_id = ?", id, who.UserID)
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if row.HealthStatus == HealthDisconnected {
			return nil
		}
		now := s.now()
		if err := tx.Model(&schema.BrokerConnection{}).Where("id = ?", row.ID).UpdateColumns(map[string]any{
			"is_active": false, "credentials": nil, "key_version": 0, "health_status": HealthDisconnected,
			"health_message": "", "updated_at": now,
		}).Error; err != nil {
			return err
		}
		for _, col := range []string{"default_stock_connection", "default_crypto_connection"} {
			if err := tx.Model(&schema.RiskSettings{}).Where("user_id = ? AND "+col+" = ?", who.UserID, row.ID).
				UpdateColumn(col, nil).Error; err != nil {
				return err
			}
		}
		if err := tx.Where("id = ?", row.ID).Take(&row).Error; err != nil {
			return err
		}
		done = true
		return record(tx, audit.Entry{
			UserID: who.UserID, Action: audit.ActionBrokerDisconnected, ResourceType: "BrokerConnection", ResourceID: row.ID,
			IPAddress: who.IPAddress, UserAgent: who.UserAgent, Status: audit.StatusSuccess,
			Details: map[string]any{"broker": row.BrokerType, "label": row.Label},
		}, realtime.EventConnectionDisconnected, eventPayload{Connection: ViewOf(row, schema.RiskSettings{}), Message: trade.DisconnectedMessage(row.BrokerType)})
	})
	if err != nil {
		return "", false, err
	}
	s.forget(row.ID)
	if done {
		s.committed(who.UserID)
	}
	return trade.DisconnectedMessage(row.BrokerType), done, nil
}
