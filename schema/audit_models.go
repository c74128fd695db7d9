package schema

import "time"

// AuditArchive is one archive segment of a chain: entries FirstSeq…LastSeq
// moved to object storage under ObjectKey (a signed, compressed segment
// whose bytes hash to ObjectSHA256). Append-only, like audit_logs.
type AuditArchive struct {
	UserID            string    `gorm:"primaryKey;size:36;uniqueIndex:ux_audit_archives_user_last,priority:1"`
	FirstSeq          int64     `gorm:"primaryKey;autoIncrement:false"`
	LastSeq           int64     `gorm:"not null;uniqueIndex:ux_audit_archives_user_last,priority:2"`
	FirstPreviousHash string    `gorm:"size:64;not null"`
	LastHash          string    `gorm:"size:64;not null"`
	Entries           int64     `gorm:"not null"`
	ObjectKey         string    `gorm:"size:512;not null"`
	ObjectSHA256      string    `gorm:"column:object_sha256;size:64;not null"`
	KeyID             int       `gorm:"not null"`
	CreatedAt         time.Time `gorm:"not null"`
}

// AuditAlert is a SECURITY_ALERT raised by the audit verification, shown
// to admins until acknowledged.
type AuditAlert struct {
	ID             string    `gorm:"primaryKey;size:64"`
	RaisedAt       time.Time `gorm:"not null;index:ix_audit_alerts_raised_at"`
	Kind           string    `gorm:"size:32;not null"`
	Summary        string    `gorm:"type:text;not null"`
	Details        string    `gorm:"type:text;not null"` // JSON
	AcknowledgedAt *time.Time
	AcknowledgedBy string `gorm:"size:36;not null"`
}

// AuditVerification is one run of the audit verification.
type AuditVerification struct {
	ID             string    `gorm:"primaryKey;size:128"`
	StartedAt      time.Time `gorm:"not null"`
	FinishedAt     time.Time `gorm:"not null;index:ix_audit_verifications_finished_at"`
	FromCheckpoint string    `gorm:"size:512;not null"`
	NewCheckpoint  string    `gorm:"size:512;not null"`
	Chains         int64     `gorm:"not null"`
	Valid          int64     `gorm:"not null"`
	Failed         int64     `gorm:"not null"`
	Unanchored     int64     `gorm:"not null"`
	AlertID        string    `gorm:"size:64;not null"`
}
