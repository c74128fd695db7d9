package activities

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/shopspring/decimal"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/google/uuid"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/copytrade"
	"github.com/tradeexec/tradeexec/internal/risk"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/starts"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// Copy trading (DESIGN §8 "Copy trading (issue 17)"): a leader's fill is
// recorded as a copy fill in the transaction that records the fill, with
// the start request of its SignalWorkflow (signal/copy/<fill id>); the
// workflow's FanoutPages sizes each active follower's copy (copyPage) and
// records the followers' trades through intake, one TradeWorkflow each,
// exactly as a channel signal's followers get theirs.

// leaderTradeFilled records the copy fill of a trade's fill (entry, add,
// exit, take-profit exit) when its trader is a copyable leader. Copied
// trades are not copied on (no chains, no loops).
func (a *Trading) leaderTradeFilled(tx *gorm.DB, t *schema.Trade, qty, price decimal.Decimal) error {
	if t.Source == string(signal.SourceCopy) {
		return nil
	}
	hint := ""
	var sig schema.Signal
	if err := tx.Select("external_id").Where("id = ?", t.SignalID).Take(&sig).Error; err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return err
	}
	if strings.HasPrefix(sig.ExternalID, takeProfitExternalPrefix) {
		hint = copytrade.KindTakeProfit
	}
	return a.leaderFill(tx, copytrade.LeaderFill{FillID: "trade:" + t.ID, LeaderID: t.UserID, TradeID: t.ID,
		ConnectionID: t.BrokerConnectionID, Symbol: t.Symbol, AssetClass: t.AssetClass, Side: t.Side,
		Quantity: qty, Price: price, Hint: hint})
}

// leaderStopFilled records the copy fill of a leader's stop-loss executed by
// the broker, and closes the copied part of the position it closed in the
// trader's own copy ledger.
func (a *Trading) leaderStopFilled(tx *gorm.DB, row schema.StopLoss) error {
	price := row.StopPrice.Decimal
	now := a.now()
	if err := copytrade.OwnExitFilled(tx, row.UserID, row.Symbol, row.Side, row.Quantity, price, now); err != nil {
		return err
	}
	return a.leaderFill(tx, copytrade.LeaderFill{FillID: "stop:" + row.ID + ":" + decimal.NewFromInt(row.Version).String(),
		LeaderID: row.UserID, ConnectionID: row.ConnectionID, Symbol: row.Symbol, AssetClass: row.AssetClass, Side: row.Side,
		Quantity: row.Quantity, Price: price, Hint: copytrade.KindStop})
}

// pairTakeProfitCopied: a broker-native take-profit leg filled (not
// through a trade of ours): it closes the copied part of the position in
// the trader's copy ledger and, for a leader, is a copy fill.
func (a *Trading) pairTakeProfitCopied(tx *gorm.DB, t *schema.Trade, leg broker.Order) error {
	now := a.now()
	if err := copytrade.OwnExitFilled(tx, t.UserID, t.Symbol, string(leg.Side), leg.FilledQuantity, leg.AvgFillPrice, now); err != nil {
		return err
	}
	if t.Source == string(signal.SourceCopy) {
		return nil
	}
	return a.leaderFill(tx, copytrade.LeaderFill{FillID: "takeprofit-pair:" + t.ID, LeaderID: t.UserID, TradeID: t.ID,
		ConnectionID: t.BrokerConnectionID, Symbol: t.Symbol, AssetClass: t.AssetClass, Side: string(leg.Side),
		Quantity: leg.FilledQuantity, Price: leg.AvgFillPrice, Hint: copytrade.KindTakeProfit})
}

func (a *Trading) leaderFill(tx *gorm.DB, f copytrade.LeaderFill) error {
	now := a.now()
	fill, err := copytrade.RecordLeaderFill(tx, f, now)
	if err != nil || fill == nil {
		return err
	}
	sig := signal.Signal{Source: signal.SourceCopy, ExternalID: fill.FillID, Symbol: fill.Symbol,
		AssetClass: signal.AssetClass(fill.AssetClass), Action: signal.Action(fill.Side), Side: signal.Side(fill.Side),
		Quantity: fill.Quantity, QuantityType: signal.QtyFixed, OrderType: signal.OrderMarket,
		Text: "Leader fill " + fill.Kind + ": " + fill.Side + " " + fill.Quantity.String() + " " + fill.Symbol + " @ " + risk.FormatPrice(fill.Price)}
	return starts.Enqueue(tx, starts.Request{
		WorkflowID: workflows.SignalWorkflowID(signal.SourceCopy, fill.FillID), WorkflowType: workflows.SignalWorkflowName,
		Kind: copytrade.StartKind, RefID: fill.ID, TaskQueue: a.TaskQueue,
		Input: workflows.SignalInput{MessageID: fill.FillID, CopyFillID: fill.ID, Legs: signal.SingleLeg(sig), Timeouts: a.Timeouts},
		Memo:  map[string]any{"signal": sig.Text, "copyFillId": fill.ID, "leaderId": fill.LeaderID},
		Keywords: map[string]string{
			workflows.SAUserID.GetName():       fill.LeaderID,
			workflows.SASymbol.GetName():       fill.Symbol,
			workflows.SASignalSource.GetName(): string(signal.SourceCopy),
		},
		Relayed: true,
	}, now)
}

// copyFollower is one follower of a copy page with what sizing needs.
type copyFollower struct {
	follow    schema.CopyFollow
	f         follower
	equity    decimal.Decimal
	positions map[string]schema.CopyPosition
	orders    []schema.CopyOrder // this fill's, from an earlier attempt
}

// copyPage is FanoutPage for a copy fill: the next page of the leader's
// active followers, each sized (copytrade), skipped with the reason, or
// paused at the loss limit (its copied positions closed); the trades are
// recorded through intake with their copy orders in one transaction.
func (a *Signals) copyPage(ctx context.Context, in workflows.FanoutPageInput, limit int) (workflows.FanoutPageResult, error) {
	var out workflows.FanoutPageResult
	db := a.DB.WithContext(ctx)
	var fill schema.CopyFill
	if err := db.Where("id = ?", in.CopyFillID).Take(&fill).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			out.Done = true
			return out, nil
		}
		return out, err
	}
	page, err := a.loadCopyFollowers(ctx, fill, in.After, limit)
	if err != nil {
		return out, err
	}
	out.Done = len(page) < limit
	if len(page) > 0 {
		out.Next = page[len(page)-1].follow.FollowerID
	}
	leader, err := copytrade.LeaderName(db, fill.LeaderID)
	if err != nil {
		return out, err
	}
	var reqs []intake.Request
	var skips []copySkip
	for _, cf := range page {
		if len(cf.orders) > 0 {
			// A retried page: this follower's outcome is recorded already.
			existing, err := a.copyTrades(ctx, cf.orders)
			if err != nil {
				return out, err
			}
			out.Trades = append(out.Trades, existing...)
			continue
		}
		r, s := a.copyDecide(cf, fill, leader, in.Legs)
		reqs = append(reqs, r...)
		skips = append(skips, s...)
	}
	if len(reqs) > 0 {
		svc := &intake.Service{DB: a.DB, Committed: a.Committed, Now: a.Now, TaskQueue: a.TaskQueue, Timeouts: in.Timeouts}
		results, err := svc.Record(ctx, reqs)
		if err != nil {
			return out, err
		}
		for i, r := range results {
			out.Trades = append(out.Trades, workflows.FanoutTrade{
				UserID: reqs[i].UserID, TradeID: r.TradeID, SignalID: r.SignalID, WorkflowID: r.WorkflowID, Signal: reqs[i].Signal,
			})
		}
	}
	for _, s := range skips {
		if err := a.recordCopySkip(ctx, fill, s); err != nil {
			return out, err
		}
		if s.notify {
			out.Skipped = append(out.Skipped, workflows.FanoutSkip{UserID: s.followerID, Reason: s.reason})
		}
	}
	return out, nil
}

type copySkip struct {
	followerID, reason string
	notify             bool
	// also runs in the skip's transaction when it is first recorded.
	also func(tx *gorm.DB) error
}

// copyDecide sizes one follower's copy of the fill: the requests to record
// (a copy, or the closes of a loss-limit pause) or the skip.
func (a *Signals) copyDecide(cf copyFollower, fill schema.CopyFill, leader string, legs []signal.Leg) ([]intake.Request, []copySkip) {
	fid := cf.follow.FollowerID
	if reason := eligibility(cf.f, legs); reason != "" {
		return nil, []copySkip{{fid, reason, true, nil}}
	}
	// The loss limit, with the fill's price as the symbol's latest price.
	var ps []copytrade.Position
	for _, p := range cf.positions {
		last := p.LastPrice
		if p.Symbol == fill.Symbol {
			last = fill.Price
		}
		ps = append(ps, copytrade.Position{Quantity: p.Quantity, AvgPrice: p.AvgPrice, RealizedPnL: p.RealizedPnL, LastPrice: last})
	}
	if hit, msg := copytrade.LossLimitReached(copytrade.Loss(ps), cf.follow.LossLimit, leader); hit {
		return a.copyPause(cf, fill, msg)
	}
	rules := copytrade.Rules{Step: risk.DefaultStep(signal.AssetClass(fill.AssetClass))}
	units := copytrade.Units(fill.AssetClass)
	copied := cf.positions[fill.Symbol].Quantity
	var qty decimal.Decimal
	var err error
	note := ""
	switch fill.Kind {
	case copytrade.KindEntry, copytrade.KindAdd:
		qty, err = copytrade.EntryQuantity(copytrade.Sizing{Mode: copytrade.Mode(cf.follow.SizingMode), Multiplier: cf.follow.Multiplier,
			FixedAmount: cf.follow.FixedAmount, MaxPosition: cf.follow.MaxPosition},
			copytrade.Entry{Symbol: fill.Symbol, Units: units, Quantity: fill.Quantity, Price: fill.Price,
				LeaderEquity: fill.LeaderEquity, FollowerEquity: cf.equity, Copied: copied}, rules)
	default:
		// An exit closes only the copied position, in the leader's direction.
		// A flip (the fill goes beyond the leader's position: long → short)
		// is copied as that close; its opening part is refused with the
		// reason, told to the follower (never silently dropped).
		flip := ""
		if open := copytrade.FlipOpen(fill.Kind, fill.PositionBefore, fill.Quantity); open.IsPositive() {
			flip = copytrade.FlipNotCopied(leader, fill.Symbol, units, open, fill.Side)
		}
		if copied.IsZero() || (fill.Side == "sell") != copied.IsPositive() {
			if flip != "" {
				return nil, []copySkip{{fid, flip, true, nil}}
			}
			return nil, []copySkip{{fid, "Exit of " + fill.Symbol + " not copied: you hold no copied position in it.", false, nil}}
		}
		qty, err = copytrade.ExitQuantity(fill.Symbol, units, copied, fill.ExitFraction, rules)
		note = flip
	}
	if err != nil {
		reason := err.Error()
		if s, ok := copytrade.AsSkip(err); ok {
			reason = s.Reason
		}
		return nil, []copySkip{{fid, reason, true, nil}}
	}
	text := copytrade.FillText(leader, fill, qty)
	if note != "" {
		text += ". " + note
	}
	exit := fill.Kind != copytrade.KindEntry && fill.Kind != copytrade.KindAdd
	alloc := decimal.Zero
	if !exit && cf.equity.IsPositive() {
		alloc = qty.Mul(fill.Price).Div(cf.equity).Mul(decimal.NewFromInt(100)).Round(4)
	}
	sig := copySignal(fid+":copy:"+fill.FillID, fill.Symbol, fill.AssetClass, fill.Side, qty, text, exit)
	return []intake.Request{a.copyRequest(fill, fid, sig, note, alloc, func(tx *gorm.DB) error {
		return copytrade.Notify(context.Background(), tx, copytrade.Notice{UserID: fid, Action: copytrade.ActionCopySent, Kind: "copied",
			Message: text, DedupeKey: fill.FillID + ":" + fid, ResourceID: fill.ID, Details: map[string]any{"leaderId": fill.LeaderID, "symbol": fill.Symbol,
				"quantity": qty.String(), "side": fill.Side}}, a.now())
	})}, nil
}

// copyPause pauses the follow (loss limit), closes every copied position
// of this leader at market and tells the follower — in the transaction
// that records the closes.
func (a *Signals) copyPause(cf copyFollower, fill schema.CopyFill, msg string) ([]intake.Request, []copySkip) {
	fid := cf.follow.FollowerID
	pause := func(tx *gorm.DB) error {
		res := tx.Model(&schema.CopyFollow{}).Where("id = ? AND status = ?", cf.follow.ID, copytrade.StatusActive).
			Updates(map[string]any{"status": copytrade.StatusPaused, "status_reason": msg, "updated_at": a.now()})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		return copytrade.Notify(context.Background(), tx, copytrade.Notice{UserID: fid, Action: copytrade.ActionCopyPaused, Kind: "paused",
			Message: msg, DedupeKey: "pause:" + cf.follow.ID + ":" + fill.FillID, ResourceID: cf.follow.ID, Failed: true, Details: map[string]any{"leaderId": fill.LeaderID}}, a.now())
	}
	var reqs []intake.Request
	symbols := make([]string, 0, len(cf.positions))
	for s := range cf.positions {
		symbols = append(symbols, s)
	}
	sortStrings(symbols)
	for _, s := range symbols {
		p := cf.positions[s]
		if p.Quantity.IsZero() {
			continue
		}
		side := "sell"
		if p.Quantity.IsNegative() {
			side = "buy"
		}
		class := string(signal.AssetStock)
		if strings.Contains(s, "-") {
			class = string(signal.AssetCrypto)
		}
		text := "Copy trading paused (loss limit): closing the copied " + p.Quantity.Abs().String() + " " + s
		sig := copySignal(fid+":copy:"+fill.FillID+":close:"+s, s, class, side, p.Quantity.Abs(), text, true)
		also := func(*gorm.DB) error { return nil }
		if len(reqs) == 0 {
			also = pause
		}
		reqs = append(reqs, a.copyRequest(schema.CopyFill{ID: fill.ID, LeaderID: fill.LeaderID, Symbol: s}, fid, sig, "", decimal.Zero, also))
	}
	skip := copySkip{fid, msg, false, nil}
	if len(reqs) == 0 {
		// Nothing copied is open: the pause is recorded with the skip.
		skip.also = pause
	}
	return reqs, []copySkip{skip}
}

// copySignal is a follower's copy order at market. A closing one is
// "flat" (close only: PrepareOrder caps it at the position the broker
// holds and never opens the other side — when the follower's own stop
// closed the shares first, it closes nothing).
func copySignal(externalID, symbol, class, side string, qty decimal.Decimal, text string, closing bool) signal.Signal {
	s := signal.Signal{Source: signal.SourceCopy, ExternalID: externalID, Symbol: symbol, AssetClass: signal.AssetClass(class),
		Action: signal.Action(side), Side: signal.Side(side), Quantity: qty, QuantityType: signal.QtyFixed,
		OrderType: signal.OrderMarket, Text: text}
	if closing {
		s.Sentiment = signal.SentimentFlat
	}
	return s
}

// copyRequest is the intake request of one copy order; its copy order row
// (and what also writes) commits with the trade.
// reason is shown with the order (a flip's refused opening part);
// allocation is the order's share of the follower's account value.
func (a *Signals) copyRequest(fill schema.CopyFill, followerID string, sig signal.Signal, reason string, allocation decimal.Decimal, also func(*gorm.DB) error) intake.Request {
	return intake.Request{UserID: followerID, Signal: sig, Memo: map[string]any{"copyFillId": fill.ID, "leaderId": fill.LeaderID},
		Also: func(tx *gorm.DB, res intake.Result) error {
			ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&schema.CopyOrder{ID: uuid.NewString(), CopyFillID: fill.ID,
				FollowerID: followerID, LeaderID: fill.LeaderID, Symbol: sig.Symbol, Side: string(sig.Side), Quantity: sig.Quantity,
				Status: copytrade.OrderSent, Reason: truncate(reason, 300), TradeID: res.TradeID, AllocationPct: allocation, CreatedAt: a.now()})
			if ins.Error != nil || ins.RowsAffected == 0 {
				return ins.Error
			}
			return also(tx)
		}}
}

// recordCopySkip writes a follower's skip once: the copy order row with its
// reason (shown on the dashboard) and, for a skip the follower must hear
// of, the notice.
func (a *Signals) recordCopySkip(ctx context.Context, fill schema.CopyFill, s copySkip) error {
	fresh := false
	err := store.InTx(ctx, a.DB, func(tx *gorm.DB) error {
		ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&schema.CopyOrder{ID: uuid.NewString(), CopyFillID: fill.ID,
			FollowerID: s.followerID, LeaderID: fill.LeaderID, Symbol: fill.Symbol, Side: fill.Side, Quantity: decimal.Zero,
			Status: copytrade.OrderSkipped, Reason: truncate(s.reason, 300), CreatedAt: a.now()})
		if ins.Error != nil || ins.RowsAffected == 0 {
			return ins.Error
		}
		if s.also != nil {
			fresh = true
			if err := s.also(tx); err != nil {
				return err
			}
		}
		if !s.notify {
			return nil
		}
		fresh = true
		return copytrade.Notify(ctx, tx, copytrade.Notice{UserID: s.followerID, Action: copytrade.ActionCopySkipped, Kind: "skipped",
			Message: s.reason, DedupeKey: fill.FillID + ":" + s.followerID, ResourceID: fill.ID, Failed: true,
			Details: map[string]any{"leaderId": fill.LeaderID, "symbol": fill.Symbol}}, a.now())
	})
	if err == nil && fresh && a.Committed != nil {
		a.Committed(s.followerID)
	}
	return err
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// copyTrades are the trades an earlier attempt recorded for a follower.
func (a *Signals) copyTrades(ctx context.Context, orders []schema.CopyOrder) ([]workflows.FanoutTrade, error) {
	var out []workflows.FanoutTrade
	for _, o := range orders {
		if o.TradeID == "" {
			continue
		}
		var t schema.Trade
		if err := a.DB.WithContext(ctx).Where("id = ?", o.TradeID).Take(&t).Error; err != nil {
			return nil, err
		}
		var sg schema.Signal
		if err := a.DB.WithContext(ctx).Where("id = ?", t.SignalID).Take(&sg).Error; err != nil {
			return nil, err
		}
		var parsed signal.Signal
		if err := json.Unmarshal([]byte(sg.Payload), &parsed); err != nil {
			return nil, temporal.NewNonRetryableApplicationError("stored signal is unreadable", "CORRUPT_SIGNAL", err)
		}
		out = append(out, workflows.FanoutTrade{UserID: o.FollowerID, TradeID: t.ID, SignalID: sg.ID, WorkflowID: t.WorkflowID, Signal: parsed})
	}
	return out, nil
}

func (a *Signals) loadCopyFollowers(ctx context.Context, fill schema.CopyFill, after string, limit int) ([]copyFollower, error) {
	db := a.DB.WithContext(ctx)
	var follows []schema.CopyFollow
	if err := db.Where("leader_id = ? AND status = ? AND follower_id > ?", fill.LeaderID, copytrade.StatusActive, after).
		Order("follower_id").Limit(limit).Find(&follows).Error; err != nil {
		return nil, err
	}
	if len(follows) == 0 {
		return nil, nil
	}
	ids := make([]string, len(follows))
	out := make([]copyFollower, len(follows))
	by := make(map[string]*copyFollower, len(follows))
	for i, f := range follows {
		ids[i] = f.FollowerID
		out[i] = copyFollower{follow: f, f: follower{sub: schema.SourceSubscription{UserID: f.FollowerID}}, positions: map[string]schema.CopyPosition{}}
		by[f.FollowerID] = &out[i]
	}
	var users []schema.User
	if err := db.Where("id IN ?", ids).Find(&users).Error; err != nil {
		return nil, err
	}
	for _, u := range users {
		by[u.ID].f.user, by[u.ID].f.hasAccount = u, true
	}
	var conns []schema.BrokerConnection
	if err := db.Select("id", "user_id", "broker_type").Where("user_id IN ? AND is_active = ?", ids, true).Find(&conns).Error; err != nil {
		return nil, err
	}
	active := map[string]bool{}
	for _, c := range conns {
		by[c.UserID].f.brokers = append(by[c.UserID].f.brokers, c.BrokerType)
		active[c.ID] = true
	}
	var bals []schema.PortfolioBalance
	if err := db.Where("user_id IN ?", ids).Find(&bals).Error; err != nil {
		return nil, err
	}
	for _, b := range bals {
		if active[b.BrokerConnectionID] {
			by[b.UserID].equity = by[b.UserID].equity.Add(b.Equity)
		}
	}
	var ps []schema.CopyPosition
	if err := db.Where("follower_id IN ? AND leader_id = ?", ids, fill.LeaderID).Find(&ps).Error; err != nil {
		return nil, err
	}
	for _, p := range ps {
		by[p.FollowerID].positions[p.Symbol] = p
	}
	var orders []schema.CopyOrder
	if err := db.Where("copy_fill_id = ? AND follower_id IN ?", fill.ID, ids).Order("symbol").Find(&orders).Error; err != nil {
		return nil, err
	}
	for _, o := range orders {
		by[o.FollowerID].orders = append(by[o.FollowerID].orders, o)
	}
	return out, nil
}

// finishCopy records how many followers a copy fill reached.
func (a *Signals) finishCopy(ctx context.Context, in workflows.FinishSignalInput) error {
	now := a.now()
	return a.DB.WithContext(ctx).Model(&schema.CopyFill{}).Where("id = ?", in.CopyFillID).
		Updates(map[string]any{"followers": in.Followers, "skipped": in.Skipped, "fanned_out_at": now}).Error
}
