// Package audit is the hash-chained, append-only audit log (FR-051..FR-057,
// US-007).
//
// Every user has one chain: entries are numbered Seq 1, 2, 3 … and each
// carries the CurrentHash of its predecessor as PreviousHash (GenesisHash
// for Seq 1); see ComputeHash for the exact formula. The chain's tip lives
// in audit_heads and is updated in the same transaction as the insert,
// which serialises appends per user. The database refuses UPDATE and DELETE
// on audit_logs (triggers, see schema/migrations); Verify detects edits made
// behind the application's back.
//
// Append joins the caller's transaction, so a state change and its audit
// entry commit or roll back together:
//
//	err := store.InTx(ctx, db, func(tx *gorm.DB) error {
//		if err := tx.Save(&trade).Error; err != nil { return err }
//		if _, err := audit.Append(tx, audit.Entry{UserID: trade.UserID,
//			Action: audit.ActionTradeSubmitted, ResourceType: "Trade", ResourceID: trade.ID,
//			Details: map[string]any{"symbol": trade.Symbol}}); err != nil { return err }
//		_, err := realtime.AppendEvent(tx, trade.UserID, realtime.EventTradeSubmitted, payload)
//		return err
//	})
//
// When one transaction writes both, append the audit entry before the
// outbox event (a fixed lock order avoids deadlocks between transactions).
package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// Field limits; they match the column sizes of audit_logs.
const (
	maxUserID       = 36
	maxResourceType = 32
	maxResourceID   = 64
	maxIPAddress    = 64
	maxUserAgent    = 300
	maxErrorMessage = 2000
)

var (
	// ErrNotInTransaction is returned by Append when tx is not a
	// transaction handle.
	ErrNotInTransaction = errors.New("audit: Append must be called inside a transaction")
	// ErrInvalidEntry is wrapped by Append's validation errors.
	ErrInvalidEntry = errors.New("audit: invalid entry")
)

var actionPattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,47}$`)

// Entry is what a caller records. Details must be JSON-encodable; keys
// naming secrets are removed (see Redact). At defaults to now; it is stored
// in UTC with microsecond precision. Status defaults to StatusSuccess.
type Entry struct {
	UserID       string
	Action       string
	ResourceType string
	ResourceID   string
	IPAddress    string
	UserAgent    string
	Status       string
	ErrorMessage string
	Details      map[string]any
	At           time.Time
}

// Append adds e to its user's chain inside the caller's transaction tx and
// returns the stored row. It locks the user's chain head until tx ends: by
// the conditional UPDATE of the tip this process last wrote (headCache),
// else by reading it (SELECT … FOR UPDATE on PostgreSQL) first.
func Append(tx *gorm.DB, e Entry) (schema.AuditLog, error) {
	if !store.InTransaction(tx) {
		return schema.AuditLog{}, ErrNotInTransaction
	}
	row, err := normalize(e)
	if err != nil {
		return schema.AuditLog{}, err
	}
	db := tx.Session(&gorm.Session{NewDB: true})
	row.ID = uuid.NewString()

	if t, ok := heads.get(row.UserID); ok {
		done, err := appendAt(db, row, t.seq, t.hash)
		if err != nil || done.Seq != 0 {
			return done, err
		}
	}
	lastSeq, lastHash, err := lockHead(db, row.UserID)
	if err != nil {
		return schema.AuditLog{}, fmt.Errorf("audit: lock chain head: %w", err)
	}
	done, err := appendAt(db, row, lastSeq, lastHash)
	if err == nil && done.Seq == 0 {
		err = errors.New("audit: chain head moved during append")
	}
	return done, err
}

// appendAt appends row after the entry (lastSeq, lastHash): it advances
// the head only where it still holds exactly that entry, then inserts the
// row. It returns a zero row and no error when the head holds something
// else (nothing written).
func appendAt(db *gorm.DB, row schema.AuditLog, lastSeq int64, lastHash string) (schema.AuditLog, error) {
	row.Seq = lastSeq + 1
	row.PreviousHash = lastHash
	row.CurrentHash = ComputeHash(row)
	res := db.Model(&schema.AuditHead{}).
		Where("user_id = ? AND last_seq = ? AND last_hash = ?", row.UserID, lastSeq, lastHash).
		Updates(map[string]any{"last_seq": row.Seq, "last_hash": row.CurrentHash})
	if res.Error != nil {
		return schema.AuditLog{}, fmt.Errorf("audit: advance chain head: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return schema.AuditLog{}, nil
	}
	if err := db.Create(&row).Error; err != nil {
		return schema.AuditLog{}, fmt.Errorf("audit: insert entry: %w", err)
	}
	heads.put(row.UserID, row.Seq, row.CurrentHash)
	return row, nil
}

// lockHead returns the user's chain tip, locking its row for the rest of
// the transaction (SELECT … FOR UPDATE on PostgreSQL; SQLite transactions
// here already hold the database write lock). A missing head is created
// from the newest stored entry (or the genesis hash) so that losing the
// head row cannot fork the chain.
func lockHead(db *gorm.DB, userID string) (int64, string, error) {
	head, found, err := selectHead(db, userID)
	if err != nil || found {
		return head.LastSeq, head.LastHash, err
	}
	seed := schema.AuditHead{UserID: userID, LastHash: GenesisHash}
	var tip schema.AuditLog
	err = db.Select("seq", "current_hash").Where("user_id = ?", userID).Order("seq DESC").Limit(1).Take(&tip).Error
	switch {
	case err == nil:
		seed.LastSeq, seed.LastHash = tip.Seq, tip.CurrentHash
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return 0, "", err
	}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&seed).Error; err != nil {
		return 0, "", err
	}
	head, found, err = selectHead(db, userID)
	if err == nil && !found {
		err = errors.New("head row vanished")
	}
	return head.LastSeq, head.LastHash, err
}

func selectHead(db *gorm.DB, userID string) (schema.AuditHead, bool, error) {
	q := db.Where("user_id = ?", userID)
	if store.DialectOf(db) == store.Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	var head schema.AuditHead
	err := q.Take(&head).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return head, false, nil
	}
	return head, err == nil, err
}

// normalize validates e and converts it to a row without chain fields.
func normalize(e Entry) (schema.AuditLog, error) {
	row := schema.AuditLog{
		UserID:       clean(e.UserID, 0),
		Action:       e.Action,
		ResourceType: clean(e.ResourceType, 0),
		ResourceID:   clean(e.ResourceID, 0),
		IPAddress:    clean(e.IPAddress, maxIPAddress),
		UserAgent:    clean(e.UserAgent, maxUserAgent),
		Status:       e.Status,
		ErrorMessage: clean(e.ErrorMessage, maxErrorMessage),
	}
	switch {
	case row.UserID == "":
		return row, fmt.Errorf("%w: user id is required (use AnonymousUserID or SystemUserID)", ErrInvalidEntry)
	case utf8.RuneCountInString(row.UserID) > maxUserID:
		return row, fmt.Errorf("%w: user id longer than %d characters", ErrInvalidEntry, maxUserID)
	case !actionPattern.MatchString(row.Action):
		return row, fmt.Errorf("%w: action %q is not UPPER_SNAKE_CASE of at most 48 characters", ErrInvalidEntry, e.Action)
	case utf8.RuneCountInString(row.ResourceType) > maxResourceType:
		return row, fmt.Errorf("%w: resource type longer than %d characters", ErrInvalidEntry, maxResourceType)
	case utf8.RuneCountInString(row.ResourceID) > maxResourceID:
		return row, fmt.Errorf("%w: resource id longer than %d characters", ErrInvalidEntry, maxResourceID)
	}
	switch row.Status {
	case "":
		row.Status = StatusSuccess
	case StatusSuccess, StatusFailure:
	default:
		return row, fmt.Errorf("%w: status %q (want %q or %q)", ErrInvalidEntry, e.Status, StatusSuccess, StatusFailure)
	}
	details, err := encodeDetails(e.Details)
	if err != nil {
		return row, err
	}
	row.Details = details
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	// PostgreSQL keeps microseconds; truncating first makes the hashed
	// timestamp identical to the stored one on both engines.
	row.Timestamp = at.UTC().Truncate(time.Microsecond)
	return row, nil
}

// encodeDetails turns details into canonical JSON text (sorted keys, no
// HTML escaping) after redaction. Structs and other values are first
// converted to their JSON form so that their secret-named fields are
// redacted too; numbers keep their exact text.
func encodeDetails(details map[string]any) (string, error) {
	if len(details) == 0 {
		return "{}", nil
	}
	raw, err := json.Marshal(details)
	if err != nil {
		return "", fmt.Errorf("%w: details are not JSON-encodable: %v", ErrInvalidEntry, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var generic map[string]any
	if err := dec.Decode(&generic); err != nil {
		return "", fmt.Errorf("%w: details: %v", ErrInvalidEntry, err)
	}
	return string(encodeJSON(Redact(generic))), nil
}

// clean makes s storable on both engines: valid UTF-8, no NUL bytes, and at
// most limit characters when limit > 0.
func clean(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	if limit > 0 && utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit])
	}
	return s
}
