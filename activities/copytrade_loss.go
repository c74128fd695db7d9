package activities

import (
	"context"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/copytrade"
	"github.com/tradeexec/tradeexec/schema"
)

// copyLossCheck is the copy loss limit between the leader's fills (issue
// 17 gap 2): every look of a follower's account guard (each poll and after
// each fill) marks their copied positions at the broker's current prices;
// a follow whose copy loss reaches half its limit is paused, its copied
// positions closed at market (close-only trades recorded with the pause;
// the start relay starts them) and "Copy trading paused: Loss limit
// approaching…" told — even if the leader never trades again. A failure
// is logged and the next look tries again.
func (a *Trading) copyLossCheck(ctx context.Context, userID string, positions []broker.Position) {
	prices := make(map[string]decimal.Decimal, len(positions))
	for _, p := range positions {
		if p.CurrentPrice.IsPositive() {
			prices[p.Symbol] = p.CurrentPrice
		}
	}
	if len(prices) == 0 {
		return
	}
	svc := &intake.Service{DB: a.DB, TaskQueue: a.TaskQueue, Timeouts: a.Timeouts, Now: a.now}
	paused, err := copytrade.CheckLossAtPrices(ctx, a.DB, copytrade.PriceCheck{FollowerID: userID, Prices: prices},
		func(tx *gorm.DB, f schema.CopyFollow, ps []schema.CopyPosition, _ string) error {
			for _, p := range ps {
				sig := copytrade.CloseSignal(userID+":copy:loss:"+f.ID+":"+a.now().Format(time.RFC3339Nano)+":close:"+p.Symbol, p,
					"Copy trading paused (loss limit): closing the copied "+p.Quantity.Abs().String()+" "+p.Symbol)
				if _, err := svc.RecordFollowUp(tx, intake.Request{UserID: userID, Signal: sig, Memo: map[string]any{"leaderId": f.LeaderID}}); err != nil {
					return err
				}
			}
			return nil
		}, a.now())
	if err != nil {
		a.logCtx(ctx).Warn("copy loss check failed; retrying at the next look", zap.String("user_id", userID), zap.Error(err))
	}
	if len(paused) > 0 {
		a.committed(userID)
	}
}
