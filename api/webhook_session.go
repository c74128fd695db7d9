package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
)

// checkSession refuses, before anything is stored, a time in force or an
// extended-hours request that the broker the signal routes to does not
// execute (400 naming the field): never sent as something else. PrepareOrder
// checks again against the connection it actually routes to.
func (s *Server) checkSession(ctx context.Context, userID string, sig signal.Signal) error {
	if !sig.TimeInForce.Explicit() && !sig.ExtendedHours {
		return nil
	}
	var settings schema.RiskSettings
	if err := s.DB.WithContext(ctx).Where("user_id = ?", userID).Limit(1).Find(&settings).Error; err != nil {
		return err
	}
	conn, err := (&brokerconn.Resolver{DB: s.DB}).Route(ctx, userID, sig.AssetClass, sig.Broker, settings)
	var noConn *brokerconn.ErrNoConnection
	if errors.As(err, &noConn) {
		return nil // the trade is refused for that reason, with its own message
	}
	if err != nil {
		return err
	}
	if se := broker.CheckSession(conn.BrokerType, trade.BrokerDisplayName(conn.BrokerType), sig); se != nil {
		return &Error{Status: http.StatusBadRequest, Code: "not_executed_by_broker", Field: se.Field, Message: se.Message}
	}
	return nil
}
