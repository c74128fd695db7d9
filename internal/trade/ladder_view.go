package trade

import (
	"time"

	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/schema"
)

// LegView is one leg of a take-profit ladder as the dashboard shows it:
// its target, the quantity it closes, its state (armed, triggered,
// filled, cancelled, failed, merged), its exit trade and fill, and the
// stop move it triggers.
type LegView struct {
	N              int              `json:"n"`
	Target         decimal.Decimal  `json:"target"`
	Share          decimal.Decimal  `json:"share"`
	Quantity       decimal.Decimal  `json:"quantity"`
	Status         string           `json:"status"`
	MergedInto     int              `json:"mergedInto,omitempty"`
	ExitTradeID    string           `json:"exitTradeId,omitempty"`
	FilledQuantity decimal.Decimal  `json:"filledQuantity"`
	FillPrice      *decimal.Decimal `json:"fillPrice,omitempty"`
	StopMove       string           `json:"stopMove,omitempty"`
	StopPrice      *decimal.Decimal `json:"stopPrice,omitempty"`
	TrailPercent   *decimal.Decimal `json:"trailPercent,omitempty"`
	StopMovedAt    *time.Time       `json:"stopMovedAt,omitempty"`
}

// LegViewOf renders a leg row.
func LegViewOf(l schema.TakeProfitLeg) LegView {
	return LegView{N: l.N, Target: l.Target, Share: l.Share, Quantity: l.Quantity, Status: l.Status, MergedInto: l.MergedInto,
		ExitTradeID: l.ExitTradeID, FilledQuantity: l.FilledQuantity, FillPrice: nullable(l.FillPrice), StopMove: l.StopMove,
		StopPrice: nullable(l.StopPrice), TrailPercent: nullable(l.TrailPercent), StopMovedAt: utc(l.StopMovedAt)}
}

// LadderOf loads a trade's ladder legs in target order (none: empty).
func LadderOf(db *gorm.DB, tradeID string) ([]LegView, error) {
	var rows []schema.TakeProfitLeg
	if err := db.Where("trade_id = ?", tradeID).Order("n").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]LegView, len(rows))
	for i, r := range rows {
		out[i] = LegViewOf(r)
	}
	return out, nil
}
