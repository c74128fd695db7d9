package copytrade

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/realtime"
	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/sources"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Fill kinds (schema.CopyFill.Kind).
const (
	KindEntry      = "entry"
	KindAdd        = "add"
	KindExit       = "exit"  // part of the leader's position
	KindClose      = "close" // all of it
	KindTakeProfit = "take_profit"
	KindStop       = "stop"
)

// Follow statuses (schema.CopyFollow.Status).
const (
	StatusActive  = "active"
	StatusPaused  = "paused"
	StatusStopped = "stopped"
	// StatusPending: a follow request to a followers-only leader, waiting for
	// the leader's approval (nothing is copied, no stats are shown).
	StatusPending = "pending"
	// StatusDenied: the leader declined the request.
	StatusDenied = "denied"
)

// Copy order statuses (schema.CopyOrder.Status).
const (
	OrderSent    = "sent"
	OrderFilled  = "filled"
	OrderSkipped = "skipped"
)

// Audit actions and the dashboard event of copy trading.
const (
	ActionCopySent    = "COPY_TRADE_SENT"
	ActionCopySkipped = "COPY_TRADE_SKIPPED"
	ActionCopyPaused  = "COPY_TRADING_PAUSED"
	ActionSettings    = "COPY_SETTINGS_CHANGED"
	ActionApproved    = "COPY_FOLLOW_APPROVED"
	ActionDenied      = "COPY_FOLLOW_DENIED"
	ActionUnfollowed  = "COPY_UNFOLLOWED"
	EventNotice       = "copy.notice"
)

// StartKind is the start-request kind (internal/starts) of a copy fan-out.
const StartKind = "copy"

// LeaderFill is one fill of a trader's own trade (or stop).
type LeaderFill struct {
	FillID       string // unique: "trade:<trade id>", "stop:<stop id>:<version>"
	LeaderID     string
	TradeID      string
	ConnectionID string
	Symbol       string
	AssetClass   string
	Side         string // buy | sell
	Quantity     decimal.Decimal
	Price        decimal.Decimal
	// Hint names an exit's cause (KindTakeProfit, KindStop); "" otherwise.
	Hint string
}

// RecordLeaderFill records, inside the transaction that records the fill,
// the copy fill of a trader who allows copy trading and has followers, and
// moves the leader's copy ledger. It returns nil when there is nothing to
// copy (not a leader, no active follower, a fill already recorded).
func RecordLeaderFill(tx *gorm.DB, f LeaderFill, now time.Time) (*schema.CopyFill, error) {
	if !f.Quantity.IsPositive() {
		return nil, nil
	}
	var leader schema.CopyLeader
	err := tx.Select("user_id", "allow_copy").Where("user_id = ?", f.LeaderID).Take(&leader).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !leader.AllowCopy) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var n int64
	if err := tx.Model(&schema.CopyFollow{}).Where("leader_id = ? AND status = ?", f.LeaderID, StatusActive).Limit(1).Count(&n).Error; err != nil {
		return nil, err
	}
	// The ledger moves with every fill while the leader allows copying,
	// followed or not, so exit fractions stay right for later followers.
	var pos schema.CopyLeaderPosition
	err = tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("leader_id = ? AND symbol = ?", f.LeaderID, f.Symbol).Take(&pos).Error
	fresh := errors.Is(err, gorm.ErrRecordNotFound)
	if err != nil && !fresh {
		return nil, err
	}
	var dup int64
	if err := tx.Model(&schema.CopyFill{}).Where("fill_id = ?", f.FillID).Count(&dup).Error; err != nil {
		return nil, err
	}
	if dup > 0 {
		return nil, nil
	}
	delta := f.Quantity
	if f.Side == "sell" {
		delta = delta.Neg()
	}
	before := pos.Quantity
	row := schema.CopyFill{ID: uuid.NewString(), FillID: f.FillID, LeaderID: f.LeaderID, TradeID: f.TradeID, Symbol: f.Symbol,
		AssetClass: f.AssetClass, Side: f.Side, Quantity: f.Quantity, Price: f.Price, PositionBefore: before,
		ExitFraction: decimal.Zero, CreatedAt: now}
	switch {
	case before.IsZero():
		row.Kind = KindEntry
	case before.Sign() == delta.Sign():
		row.Kind = KindAdd
	default:
		row.ExitFraction = ExitFraction(before, f.Quantity)
		row.Kind = KindExit
		if row.ExitFraction.Equal(decimal.NewFromInt(1)) {
			row.Kind = KindClose
		}
		if f.Hint != "" {
			row.Kind = f.Hint
		}
	}
	pos.LeaderID, pos.Symbol, pos.Quantity, pos.UpdatedAt = f.LeaderID, f.Symbol, before.Add(delta), now
	if fresh {
		err = tx.Create(&pos).Error
	} else {
		err = tx.Model(&schema.CopyLeaderPosition{}).Where("leader_id = ? AND symbol = ?", f.LeaderID, f.Symbol).
			Updates(map[string]any{"quantity": pos.Quantity, "updated_at": now}).Error
	}
	if err != nil || n == 0 {
		return nil, err
	}
	eq, err := Equity(tx, f.LeaderID)
	if err != nil {
		return nil, err
	}
	row.LeaderEquity = eq
	if err := tx.Create(&row).Error; err != nil {
		return nil, err
	}
	return &row, nil
}

// Equity is a trader's account value: the sum of the last synced equity of
// their active broker connections (zero when none is known).
func Equity(db *gorm.DB, userID string) (decimal.Decimal, error) {
	var rows []schema.PortfolioBalance
	if err := db.Table("portfolio_balances AS b").Select("b.equity").
		Joins("JOIN broker_connections c ON c.id = b.broker_connection_id AND c.is_active = ?", true).
		Where("b.user_id = ?", userID).Find(&rows).Error; err != nil {
		return decimal.Zero, err
	}
	total := decimal.Zero
	for _, r := range rows {
		total = total.Add(r.Equity)
	}
	return total, nil
}

// FollowerFilled records, inside the transaction that records a trade's
// fill, a follower's copy order filled and moves their copied position:
// only what copy trading bought or sold for this leader is ever counted.
func FollowerFilled(tx *gorm.DB, tradeID, side string, qty, price decimal.Decimal, now time.Time) error {
	var o schema.CopyOrder
	err := tx.Where("trade_id = ? AND status = ?", tradeID, OrderSent).Take(&o).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := tx.Model(&schema.CopyOrder{}).Where("id = ?", o.ID).Updates(map[string]any{"status": OrderFilled, "quantity": qty}).Error; err != nil {
		return err
	}
	signed := qty
	if side == "sell" {
		signed = qty.Neg()
	}
	return movePosition(tx, o.FollowerID, o.LeaderID, o.Symbol, signed, price, now)
}

func movePosition(tx *gorm.DB, followerID, leaderID, symbol string, signed, price decimal.Decimal, now time.Time) error {
	var p schema.CopyPosition
	err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("follower_id = ? AND leader_id = ? AND symbol = ?", followerID, leaderID, symbol).Take(&p).Error
	fresh := errors.Is(err, gorm.ErrRecordNotFound)
	if err != nil && !fresh {
		return err
	}
	next := Apply(Position{Quantity: p.Quantity, AvgPrice: p.AvgPrice, RealizedPnL: p.RealizedPnL, LastPrice: p.LastPrice}, signed, price)
	if fresh {
		return tx.Create(&schema.CopyPosition{FollowerID: followerID, LeaderID: leaderID, Symbol: symbol, Quantity: next.Quantity,
			AvgPrice: next.AvgPrice, RealizedPnL: next.RealizedPnL, LastPrice: next.LastPrice, UpdatedAt: now}).Error
	}
	return tx.Model(&schema.CopyPosition{}).Where("follower_id = ? AND leader_id = ? AND symbol = ?", followerID, leaderID, symbol).
		Updates(map[string]any{"quantity": next.Quantity, "avg_price": next.AvgPrice, "realized_pnl": next.RealizedPnL,
			"last_price": next.LastPrice, "updated_at": now}).Error
}

// OwnExitFilled: a trader's own stop-loss (or broker-native take-profit) closed qty of their position in
// symbol at price; the copied part of it (per leader, up to qty) is closed
// in the copy ledger too, so a later exit of the leader closes nothing twice.
func OwnExitFilled(tx *gorm.DB, userID, symbol, closingSide string, qty, price decimal.Decimal, now time.Time) error {
	var ps []schema.CopyPosition
	if err := tx.Where("follower_id = ? AND symbol = ?", userID, symbol).Order("leader_id").Find(&ps).Error; err != nil {
		return err
	}
	left := qty
	for _, p := range ps {
		if !left.IsPositive() {
			break
		}
		if p.Quantity.IsZero() || (closingSide == "sell") != p.Quantity.IsPositive() {
			continue
		}
		take := decimal.Min(left, p.Quantity.Abs())
		signed := take
		if p.Quantity.IsPositive() {
			signed = take.Neg()
		}
		if err := movePosition(tx, userID, p.LeaderID, symbol, signed, price, now); err != nil {
			return err
		}
		left = left.Sub(take)
	}
	return nil
}

// Notice is a message to a trader about copy trading: an audit entry, a
// dashboard event (copy.notice) and, when they linked Discord and want it,
// a DM — each once per DedupeKey.
type Notice struct {
	UserID    string
	Action    string
	Kind      string // copied | skipped | paused
	Message   string
	DedupeKey string
	// ResourceID is the audit entry's resource (the copy fill, the follow).
	ResourceID string
	Failed     bool
	Details    map[string]any
}

// Notify writes n inside tx.
func Notify(ctx context.Context, tx *gorm.DB, n Notice, now time.Time) error {
	status := audit.StatusSuccess
	errMsg := ""
	if n.Failed {
		status, errMsg = audit.StatusFailure, n.Message
	}
	details := map[string]any{"message": n.Message, "key": n.DedupeKey}
	for k, v := range n.Details {
		details[k] = v
	}
	if _, err := audit.Append(tx, audit.Entry{UserID: n.UserID, Action: n.Action, ResourceType: "CopyTrading", ResourceID: n.ResourceID,
		Status: status, ErrorMessage: errMsg, At: now, Details: details}); err != nil {
		return err
	}
	payload := map[string]any{"kind": n.Kind, "message": n.Message}
	for k, v := range n.Details {
		payload[k] = v
	}
	if _, err := realtime.AppendEvent(tx, n.UserID, EventNotice, payload); err != nil {
		return err
	}
	var u schema.User
	if err := tx.Select("id", "discord_id").Where("id = ?", n.UserID).Take(&u).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		}
		return err
	}
	if u.DiscordID == nil || *u.DiscordID == "" {
		return nil
	}
	kind := sources.KindFill
	if n.Kind != "copied" {
		kind = sources.KindSkipped
	}
	prefs, err := sources.GetPreferences(ctx, tx, n.UserID)
	if err != nil {
		return err
	}
	if !prefs.Allows(kind) {
		return nil
	}
	_, err = sources.Enqueue(tx, sources.Outgoing{DedupeKey: "copy:" + n.DedupeKey, Kind: kind, UserID: n.UserID, Content: n.Message}, now)
	return err
}

// LeaderName is how followers see a leader: the copy profile's display
// name, else the account's, else "a leader".
func LeaderName(db *gorm.DB, leaderID string) (string, error) {
	var l schema.CopyLeader
	err := db.Select("display_name").Where("user_id = ?", leaderID).Take(&l).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return "", err
	}
	if l.DisplayName != "" {
		return l.DisplayName, nil
	}
	var u schema.User
	err = db.Select("display_name").Where("id = ?", leaderID).Take(&u).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return "", err
	}
	if u.DisplayName != "" {
		return u.DisplayName, nil
	}
	return "a leader", nil
}

// ProfileOf loads a leader's profile (a trader without settings is a
// private profile that does not allow copying).
func ProfileOf(db *gorm.DB, leaderID string) (Profile, error) {
	var l schema.CopyLeader
	err := db.Where("user_id = ?", leaderID).Take(&l).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Profile{LeaderID: leaderID, Visibility: Private}, nil
	}
	if err != nil {
		return Profile{}, err
	}
	return Profile{LeaderID: leaderID, AllowCopy: l.AllowCopy, Visibility: Visibility(l.Visibility)}, nil
}

// Follows reports whether followerID follows leaderID (active or paused).
func Follows(db *gorm.DB, followerID, leaderID string) (bool, error) {
	var n int64
	err := db.Model(&schema.CopyFollow{}).Where("follower_id = ? AND leader_id = ? AND status IN ?", followerID, leaderID,
		[]string{StatusActive, StatusPaused}).Count(&n).Error
	return n > 0, err
}

// Units is "units" for crypto, "shares" otherwise.
func Units(assetClass string) string {
	if assetClass == "crypto" {
		return "units"
	}
	return "shares"
}

// FillText is the copy's text on the follower's trade.
func FillText(leader string, f schema.CopyFill, followerQty decimal.Decimal) string {
	return CopiedMessage(leader, f.Symbol, Units(f.AssetClass), f.Quantity, f.Side == "buy", followerQty) +
		fmt.Sprintf(" — leader %s", kindWord(f.Kind))
}

func kindWord(kind string) string {
	switch kind {
	case KindTakeProfit:
		return "take-profit"
	case KindStop:
		return "stop-loss"
	case KindClose:
		return "full exit"
	case KindExit:
		return "partial exit"
	}
	return kind
}

// Settings are a leader's copy settings as the trader edits them.
type Settings struct {
	AllowCopy   bool   `json:"allowCopy"`
	Visibility  string `json:"visibility"`
	DisplayName string `json:"displayName"`
}

// InputError is a refused setting: Field names it, Message tells why.
type InputError struct{ Field, Message string }

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// ErrNotFound: no such follow of this trader.
var ErrNotFound = errors.New("copytrade: not found")

// GetSettings returns the trader's copy settings (defaults when none).
func GetSettings(db *gorm.DB, userID string) (Settings, error) {
	var l schema.CopyLeader
	err := db.Where("user_id = ?", userID).Take(&l).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Settings{Visibility: string(Private)}, nil
	}
	return Settings{AllowCopy: l.AllowCopy, Visibility: l.Visibility, DisplayName: l.DisplayName}, err
}

// SaveSettings validates and stores the trader's copy settings with an
// audit entry. Turning copying off keeps the followers' rows (their
// copying resumes if it is turned on again) but no fill is copied meanwhile.
func SaveSettings(ctx context.Context, db *gorm.DB, userID string, s Settings, now time.Time) (Settings, error) {
	s.DisplayName = strings.TrimSpace(s.DisplayName)
	if !ValidVisibility(s.Visibility) {
		return s, &InputError{"visibility", "visibility must be public, followers or private."}
	}
	if n := len([]rune(s.DisplayName)); n > 100 {
		return s, &InputError{"displayName", "displayName must be at most 100 characters."}
	}
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		row := schema.CopyLeader{UserID: userID, AllowCopy: s.AllowCopy, Visibility: s.Visibility, DisplayName: s.DisplayName,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "user_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"allow_copy", "visibility", "display_name", "updated_at"})}).Create(&row).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{UserID: userID, Action: ActionSettings, ResourceType: "CopyLeader", ResourceID: userID,
			Status: audit.StatusSuccess, At: now, Details: map[string]any{"allowCopy": s.AllowCopy, "visibility": s.Visibility, "displayName": s.DisplayName}})
		return err
	})
	return s, err
}

// FollowRequest is a follower's settings for a leader.
type FollowRequest struct {
	SizingMode  string          `json:"sizingMode"`
	Multiplier  decimal.Decimal `json:"multiplier"`
	FixedAmount decimal.Decimal `json:"fixedAmount"`
	MaxPosition decimal.Decimal `json:"maxPosition"`
	LossLimit   decimal.Decimal `json:"lossLimit"`
}

// Validate checks a follow request.
func (r FollowRequest) Validate() error {
	switch {
	case !ValidMode(r.SizingMode):
		return &InputError{"sizingMode", "sizingMode must be proportional, multiplier or fixed_amount."}
	case r.SizingMode == string(Multiplier) && (!r.Multiplier.IsPositive() || r.Multiplier.GreaterThan(decimal.NewFromInt(100))):
		return &InputError{"multiplier", "multiplier must be greater than 0 and at most 100."}
	case r.SizingMode == string(FixedAmount) && !r.FixedAmount.IsPositive():
		return &InputError{"fixedAmount", "fixedAmount must be greater than 0."}
	case r.Multiplier.IsNegative():
		return &InputError{"multiplier", "multiplier cannot be negative."}
	case r.FixedAmount.IsNegative():
		return &InputError{"fixedAmount", "fixedAmount cannot be negative."}
	case r.MaxPosition.IsNegative():
		return &InputError{"maxPosition", "maxPosition cannot be negative (0 means no cap)."}
	case r.LossLimit.IsNegative():
		return &InputError{"lossLimit", "lossLimit is an amount of loss, given as a positive number (0 means none)."}
	}
	return nil
}

// Follow starts (or restarts, with new settings) following a leader — at
// once, or as a request the leader approves (InitialStatus). The caller
// has checked CanFollow.
func Follow(ctx context.Context, db *gorm.DB, followerID, leaderID string, r FollowRequest, now time.Time) (schema.CopyFollow, error) {
	if err := r.Validate(); err != nil {
		return schema.CopyFollow{}, err
	}
	row := schema.CopyFollow{ID: uuid.NewString(), FollowerID: followerID, LeaderID: leaderID, SizingMode: r.SizingMode,
		Multiplier: r.Multiplier, FixedAmount: r.FixedAmount, MaxPosition: r.MaxPosition, LossLimit: r.LossLimit,
		Status: StatusActive, CreatedAt: now, UpdatedAt: now}
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		p, err := ProfileOf(tx, leaderID)
		if err != nil {
			return err
		}
		var existing schema.CopyFollow
		if err := tx.Select("status", "status_reason").Where("follower_id = ? AND leader_id = ?", followerID, leaderID).Take(&existing).Error; err != nil &&
			!errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		row.Status = InitialStatus(p, existing.Status)
		if row.Status == StatusPending {
			row.StatusReason = msgFollowPending
		}
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "follower_id"}, {Name: "leader_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"sizing_mode", "multiplier", "fixed_amount", "max_position", "loss_limit",
				"status", "status_reason", "updated_at"})}).Create(&row).Error; err != nil {
			return err
		}
		var stored schema.CopyFollow
		if err := tx.Where("follower_id = ? AND leader_id = ?", followerID, leaderID).Take(&stored).Error; err != nil {
			return err
		}
		row = stored
		_, err = audit.Append(tx, audit.Entry{UserID: followerID, Action: ActionSettings, ResourceType: "CopyFollow", ResourceID: row.ID,
			Status: audit.StatusSuccess, At: now, Details: map[string]any{"leaderId": leaderID, "sizingMode": r.SizingMode,
				"multiplier": r.Multiplier.String(), "fixedAmount": r.FixedAmount.String(), "maxPosition": r.MaxPosition.String(),
				"lossLimit": r.LossLimit.String(), "status": row.Status}})
		return err
	})
	return row, err
}

// SetFollowStatus pauses, resumes or stops (unfollows) one of the
// follower's follows; ErrNotFound when it is not theirs.
func SetFollowStatus(ctx context.Context, db *gorm.DB, followerID, followID, status, reason string, now time.Time) (schema.CopyFollow, error) {
	var row schema.CopyFollow
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Where("id = ? AND follower_id = ?", followID, followerID).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		row.Status, row.StatusReason, row.UpdatedAt = status, reason, now
		if err := tx.Model(&schema.CopyFollow{}).Where("id = ?", row.ID).
			Updates(map[string]any{"status": status, "status_reason": reason, "updated_at": now}).Error; err != nil {
			return err
		}
		_, err := audit.Append(tx, audit.Entry{UserID: followerID, Action: ActionSettings, ResourceType: "CopyFollow", ResourceID: row.ID,
			Status: audit.StatusSuccess, At: now, Details: map[string]any{"leaderId": row.LeaderID, "status": status}})
		return err
	})
	return row, err
}

// FollowRequestView is a pending follow request as its leader sees it.
type FollowRequestView struct {
	ID          string    `json:"id"`
	FollowerID  string    `json:"followerId"`
	DisplayName string    `json:"displayName"`
	RequestedAt time.Time `json:"requestedAt"`
}

// PendingRequests are the follow requests waiting for leaderID's approval,
// oldest first.
func PendingRequests(db *gorm.DB, leaderID string) ([]FollowRequestView, error) {
	var rows []struct {
		ID          string
		FollowerID  string
		DisplayName string
		UpdatedAt   time.Time
	}
	if err := db.Table("copy_follows f").Select("f.id, f.follower_id, u.display_name, f.updated_at").
		Joins("JOIN users u ON u.id = f.follower_id").Where("f.leader_id = ? AND f.status = ?", leaderID, StatusPending).
		Order("f.updated_at, f.id").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]FollowRequestView, 0, len(rows))
	for _, r := range rows {
		name := r.DisplayName
		if name == "" {
			name = "Trader " + r.FollowerID[:min(8, len(r.FollowerID))]
		}
		out = append(out, FollowRequestView{ID: r.ID, FollowerID: r.FollowerID, DisplayName: name, RequestedAt: r.UpdatedAt.UTC()})
	}
	return out, nil
}

// DecideRequest approves or denies one pending follow request of leaderID
// (ErrNotFound when it is not a pending request to them): audited as the
// leader's action, and the follower is told (event and audit on their
// side). An approved follow is active: the leader's next fill is copied.
func DecideRequest(ctx context.Context, db *gorm.DB, leaderID, followID string, approve bool, now time.Time) (schema.CopyFollow, error) {
	var row schema.CopyFollow
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ? AND leader_id = ? AND status = ?", followID, leaderID, StatusPending).
			Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		status, reason, action, kind := StatusActive, "", ActionApproved, "approved"
		if !approve {
			status, reason, action, kind = StatusDenied, msgFollowDenied, ActionDenied, "denied"
		}
		row.Status, row.StatusReason, row.UpdatedAt = status, reason, now
		if err := tx.Model(&schema.CopyFollow{}).Where("id = ?", row.ID).
			Updates(map[string]any{"status": status, "status_reason": reason, "updated_at": now}).Error; err != nil {
			return err
		}
		if _, err := audit.Append(tx, audit.Entry{UserID: leaderID, Action: action, ResourceType: "CopyFollow", ResourceID: row.ID,
			Status: audit.StatusSuccess, At: now, Details: map[string]any{"followerId": row.FollowerID}}); err != nil {
			return err
		}
		leader, err := LeaderName(tx, leaderID)
		if err != nil {
			return err
		}
		msg := msgFollowApproved(leader)
		if !approve {
			msg = msgFollowDenied
		}
		_, err = realtime.AppendEvent(tx, row.FollowerID, EventNotice, map[string]any{"kind": kind, "message": msg, "leaderId": leaderID})
		return err
	})
	return row, err
}

// Released is a copied position handed back to the trader on unfollow.
type Released struct {
	Symbol   string          `json:"symbol"`
	Quantity decimal.Decimal `json:"quantity"`
}

// CopiedPositions are followerID's open copied positions of leaderID, by
// symbol.
func CopiedPositions(db *gorm.DB, followerID, leaderID string) ([]schema.CopyPosition, error) {
	var ps []schema.CopyPosition
	err := db.Where("follower_id = ? AND leader_id = ? AND quantity <> 0", followerID, leaderID).Order("symbol").Find(&ps).Error
	return ps, err
}

// Unfollow stops followerID's follow followID (ErrNotFound when not
// theirs) inside one transaction: the follow is stopped, the copied
// positions of that leader leave the copy ledger (from now on they are the
// trader's own: no exit of the leader, no loss limit touches them), and
// the choice is audited and told. With closePositions, close is called in
// the same transaction with the positions to close at market (its trades
// commit with the stop, or nothing does).
func Unfollow(ctx context.Context, db *gorm.DB, followerID, followID string, closePositions bool,
	close func(tx *gorm.DB, f schema.CopyFollow, ps []schema.CopyPosition) error, now time.Time) ([]Released, error) {
	var out []Released
	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
		out = nil
		var row schema.CopyFollow
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ? AND follower_id = ?", followID, followerID).Take(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrNotFound
			}
			return err
		}
		ps, err := CopiedPositions(tx, followerID, row.LeaderID)
		if err != nil {
			return err
		}
		for _, p := range ps {
			out = append(out, Released{Symbol: p.Symbol, Quantity: p.Quantity})
		}
		if closePositions && len(ps) > 0 && close != nil {
			if err := close(tx, row, ps); err != nil {
				return err
			}
		}
		if err := tx.Where("follower_id = ? AND leader_id = ?", followerID, row.LeaderID).Delete(&schema.CopyPosition{}).Error; err != nil {
			return err
		}
		if err := tx.Model(&schema.CopyFollow{}).Where("id = ?", row.ID).
			Updates(map[string]any{"status": StatusStopped, "status_reason": "Unfollowed.", "updated_at": now}).Error; err != nil {
			return err
		}
		leader, err := LeaderName(tx, row.LeaderID)
		if err != nil {
			return err
		}
		msg := msgUnfollowKept(leader)
		if closePositions {
			msg = msgUnfollowClosed(leader)
		}
		released := make([]map[string]any, 0, len(out))
		for _, r := range out {
			released = append(released, map[string]any{"symbol": r.Symbol, "quantity": r.Quantity.String()})
		}
		if _, err := audit.Append(tx, audit.Entry{UserID: followerID, Action: ActionUnfollowed, ResourceType: "CopyFollow", ResourceID: row.ID,
			Status: audit.StatusSuccess, At: now, Details: map[string]any{"leaderId": row.LeaderID, "closePositions": closePositions,
				"positions": released, "message": msg}}); err != nil {
			return err
		}
		_, err = realtime.AppendEvent(tx, followerID, EventNotice, map[string]any{"kind": "unfollowed", "message": msg, "leaderId": row.LeaderID})
		return err
	})
	return out, err
}

// CloseSignal is the close-only market order of a copied position
// (sentiment flat: PrepareOrder caps it at what the broker holds and never
// opens the other side).
func CloseSignal(externalID string, p schema.CopyPosition, text string) signal.Signal {
	side := signal.SideSell
	if p.Quantity.IsNegative() {
		side = signal.SideBuy
	}
	class := signal.AssetStock
	if strings.Contains(p.Symbol, "-") {
		class = signal.AssetCrypto
	}
	return signal.Signal{Source: signal.SourceCopy, ExternalID: externalID, Symbol: p.Symbol, AssetClass: class,
		Action: signal.Action(side), Side: side, Quantity: p.Quantity.Abs(), QuantityType: signal.QtyFixed,
		OrderType: signal.OrderMarket, Sentiment: signal.SentimentFlat, Text: text}
}

// UnitsOf is Units for a symbol alone (crypto pairs are written BASE-QUOTE).
func UnitsOf(symbol string) string {
	if strings.Contains(symbol, "-") {
		return Units("crypto")
	}
	return Units("stock")
}

// PriceCheck is one look at a follower's copy loss between the leader's
// fills (issue 17 gap 2): the follower's account guard passes the prices
// its broker reports for the positions it holds.
type PriceCheck struct {
	FollowerID string
	Prices     map[string]decimal.Decimal // symbol → current price
}

// CheckLossAtPrices marks followerID's copied positions at prices and, for
// every active follow with a loss limit whose copy loss reaches the pause
// point (LossLimitReached), pauses the follow, tells the follower and calls
// close with the copied positions to close at market — all in one
// transaction per follow (the pause is guarded by status = active, so a
// concurrent fan-out's pause or a repeated look pauses once). It returns
// the follows paused. Most looks write nothing: a follower without a
// limited active follow is one read.
func CheckLossAtPrices(ctx context.Context, db *gorm.DB, in PriceCheck,
	close func(tx *gorm.DB, f schema.CopyFollow, ps []schema.CopyPosition, msg string) error, now time.Time) ([]schema.CopyFollow, error) {
	var follows []schema.CopyFollow
	if err := db.WithContext(ctx).Where("follower_id = ? AND status = ? AND loss_limit > 0", in.FollowerID, StatusActive).
		Order("leader_id").Find(&follows).Error; err != nil {
		return nil, err
	}
	var paused []schema.CopyFollow
	for _, f := range follows {
		ps, err := CopiedPositions(db.WithContext(ctx), f.FollowerID, f.LeaderID)
		if err != nil {
			return paused, err
		}
		if len(ps) == 0 {
			continue
		}
		moved := false
		var cps []Position
		for i, p := range ps {
			if px, ok := in.Prices[p.Symbol]; ok && px.IsPositive() && !px.Equal(p.LastPrice) {
				ps[i].LastPrice, moved = px, true
			}
			cps = append(cps, Position{Quantity: ps[i].Quantity, AvgPrice: ps[i].AvgPrice, RealizedPnL: ps[i].RealizedPnL, LastPrice: ps[i].LastPrice})
		}
		if !moved {
			continue
		}
		leader, err := LeaderName(db.WithContext(ctx), f.LeaderID)
		if err != nil {
			return paused, err
		}
		hit, msg := LossLimitReached(Loss(cps), f.LossLimit, leader)
		err = store.InTx(ctx, db, func(tx *gorm.DB) error {
			for _, p := range ps {
				if err := tx.Model(&schema.CopyPosition{}).Where("follower_id = ? AND leader_id = ? AND symbol = ?", p.FollowerID, p.LeaderID, p.Symbol).
					Update("last_price", p.LastPrice).Error; err != nil {
					return err
				}
			}
			if !hit {
				return nil
			}
			res := tx.Model(&schema.CopyFollow{}).Where("id = ? AND status = ?", f.ID, StatusActive).
				Updates(map[string]any{"status": StatusPaused, "status_reason": msg, "updated_at": now})
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error
			}
			if err := Notify(ctx, tx, Notice{UserID: f.FollowerID, Action: ActionCopyPaused, Kind: "paused", Message: msg,
				DedupeKey: "pause:" + f.ID + ":price:" + now.Format(time.RFC3339Nano), ResourceID: f.ID, Failed: true,
				Details: map[string]any{"leaderId": f.LeaderID, "trigger": "price"}}, now); err != nil {
				return err
			}
			paused = append(paused, f)
			if err := close(tx, f, ps, msg); err != nil {
				return err
			}
			// The closes are not a leader's fill (no copy order): the copy
			// ledger closes the positions at the mark price now, realizing
			// the loss, so a resumed follow starts from what is left (the
			// broker's fill price may differ by the slippage).
			for _, p := range ps {
				if err := movePosition(tx, p.FollowerID, p.LeaderID, p.Symbol, p.Quantity.Neg(), p.LastPrice, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return paused, err
		}
	}
	return paused, nil
}
