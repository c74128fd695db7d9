package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Event types pushed to a user's dashboard (DESIGN §4).
const (
	EventTradeSubmitted        = "trade.submitted"
	EventTradeFilled           = "trade.filled"
	EventTradePartialFill      = "trade.partialFill"
	EventTradeRejected         = "trade.rejected"
	EventTradeCancelled        = "trade.cancelled"
	EventTradeQueued           = "trade.queued"
	EventTradeAwaitingApproval = "trade.awaitingApproval"
	EventTakeProfitPlaced      = "trade.takeProfitPlaced"
	EventTakeProfitFilled      = "trade.takeProfitFilled"
	EventTradeUpdated          = "trade.updated"
	EventBalanceChanged        = "portfolio.balanceChanged"
	EventPositionAdded         = "portfolio.positionAdded"
	EventPositionClosed        = "portfolio.positionClosed"
	EventMarketQuote           = "market.quote"
	EventStateSync             = "state.sync"
	EventConnectionAuthorized  = "connection.authorized"
	EventTokenExpiring         = "token.expiring" // #nosec G101 -- event type name, not a credential

	// Broker connections (internal/brokerconn): a new connection confirmed
	// or refused, one disconnected, a health check that failed, and the
	// first successful check after a failure.
	EventConnectionConnected    = "connection.connected"
	EventConnectionFailed       = "connection.failed"
	EventConnectionDisconnected = "connection.disconnected"
	EventConnectionUnhealthy    = "connection.unhealthy"
	EventConnectionRecovered    = "connection.recovered"
)

// Paging limits of EventsSince.
const (
	DefaultEventsLimit = 100
	MaxEventsLimit     = 1000
)

const (
	maxUserIDLen    = 36
	maxEventTypeLen = 48
)

var (
	// ErrNotInTransaction is returned by AppendEvent when tx is not a
	// transaction handle.
	ErrNotInTransaction = errors.New("realtime: AppendEvent must be called inside a transaction")
	// ErrInvalidEvent is wrapped by AppendEvent's validation errors.
	ErrInvalidEvent = errors.New("realtime: invalid event")
)

// AppendEvent writes an outbox event for userID inside the caller's
// transaction tx, so the event commits exactly when the change it announces
// does. Seq is the user's next sequence number, gapless per user: the
// counter row in event_seqs is advanced in tx by one UPDATE … RETURNING,
// which locks it until tx ends (SQLite transactions here already hold the
// write lock).
// payload is stored as its JSON encoding; a json.RawMessage is stored as is
// and nil as {}. When a transaction also appends an audit entry, append the
// audit entry first.
func AppendEvent(tx *gorm.DB, userID, eventType string, payload any) (schema.OutboxEvent, error) {
	if !store.InTransaction(tx) {
		return schema.OutboxEvent{}, ErrNotInTransaction
	}
	switch {
	case userID == "" || utf8.RuneCountInString(userID) > maxUserIDLen:
		return schema.OutboxEvent{}, fmt.Errorf("%w: user id must have 1 to %d characters", ErrInvalidEvent, maxUserIDLen)
	case eventType == "" || len(eventType) > maxEventTypeLen:
		return schema.OutboxEvent{}, fmt.Errorf("%w: event type must have 1 to %d characters", ErrInvalidEvent, maxEventTypeLen)
	}
	body, err := encodePayload(payload)
	if err != nil {
		return schema.OutboxEvent{}, err
	}
	db := tx.Session(&gorm.Session{NewDB: true})
	seq, err := nextSeq(db, userID)
	if err != nil {
		return schema.OutboxEvent{}, fmt.Errorf("realtime: advance event sequence: %w", err)
	}
	ev := schema.OutboxEvent{
		UserID:    userID,
		Seq:       seq,
		Type:      eventType,
		Payload:   body,
		CreatedAt: time.Now().UTC(),
	}
	if err := db.Create(&ev).Error; err != nil {
		return schema.OutboxEvent{}, fmt.Errorf("realtime: insert event: %w", err)
	}
	if store.DialectOf(db) == store.Postgres {
		// Delivered to every listening api replica when tx commits (and
		// never if it rolls back); PostgreSQL folds repeats within a tx.
		if err := db.Exec(notifySQL, Notice{Kind: NoticeEvents, UserID: userID}.encode()).Error; err != nil {
			return schema.OutboxEvent{}, fmt.Errorf("realtime: notify: %w", err)
		}
	}
	return ev, nil
}

// EventsSince returns userID's events with Seq > afterSeq in Seq order, at
// most limit of them (0 means DefaultEventsLimit; capped at
// MaxEventsLimit). A client that reconnects passes the last Seq it saw.
func EventsSince(ctx context.Context, db *gorm.DB, userID string, afterSeq int64, limit int) ([]schema.OutboxEvent, error) {
	switch {
	case limit <= 0:
		limit = DefaultEventsLimit
	case limit > MaxEventsLimit:
		limit = MaxEventsLimit
	}
	var out []schema.OutboxEvent
	err := db.WithContext(ctx).
		Where("user_id = ? AND seq > ?", userID, afterSeq).
		Order("seq").Limit(limit).
		Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("realtime: read events: %w", err)
	}
	return out, nil
}

// nextSeq advances the user's event counter by one and returns the new
// number; the counter row stays locked until the transaction ends. One
// statement (UPDATE … RETURNING, PostgreSQL and SQLite ≥ 3.35) where a
// locking read and an update were two: every state change of a trade
// writes an event. A missing counter is first created from the newest
// stored event, so numbers are never reused.
func nextSeq(db *gorm.DB, userID string) (int64, error) {
	seq, found, err := advanceSeq(db, userID)
	if err != nil || found {
		return seq, err
	}
	if err := seedSeq(db, userID); err != nil {
		return 0, err
	}
	seq, found, err = advanceSeq(db, userID)
	if err == nil && !found {
		err = errors.New("sequence row vanished")
	}
	return seq, err
}

// advanceSeq adds one to the user's counter and returns its new value;
// found is false when the user has no counter row.
func advanceSeq(db *gorm.DB, userID string) (int64, bool, error) {
	rows, err := db.Raw("UPDATE event_seqs SET last_seq = last_seq + 1 WHERE user_id = ? RETURNING last_seq", userID).Rows()
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var seq int64
	found := rows.Next()
	if found {
		if err := rows.Scan(&seq); err != nil {
			return 0, false, err
		}
	}
	return seq, found, rows.Err()
}

// seedSeq creates the user's counter at the newest stored event's number
// (0 when there is none); a counter created meanwhile is kept.
func seedSeq(db *gorm.DB, userID string) error {
	var newest []int64
	if err := db.Model(&schema.OutboxEvent{}).Where("user_id = ?", userID).
		Order("seq DESC").Limit(1).Pluck("seq", &newest).Error; err != nil {
		return err
	}
	seed := schema.EventSeq{UserID: userID}
	if len(newest) == 1 {
		seed.LastSeq = newest[0]
	}
	return db.Clauses(clause.OnConflict{DoNothing: true}).Create(&seed).Error
}

func encodePayload(payload any) (string, error) {
	if payload == nil {
		return "{}", nil
	}
	if raw, ok := payload.(json.RawMessage); ok {
		if !json.Valid(raw) {
			return "", fmt.Errorf("%w: payload is not valid JSON", ErrInvalidEvent)
		}
		return string(raw), nil
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("%w: payload is not JSON-encodable: %v", ErrInvalidEvent, err)
	}
	return string(b), nil
}
