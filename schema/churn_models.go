package schema

import "time"

// ChurnModel is one trained version of the churn model (issue 16,
// internal/analytics/churn): scoring always names the version it used.
type ChurnModel struct {
	Version   int64  `gorm:"primaryKey;autoIncrement:false"`
	Algorithm string `gorm:"size:32;not null"`
	// Params is the serialized model (churn.Params as JSON: feature names,
	// standardization, coefficients, intercept, decision threshold).
	Params string `gorm:"type:text;not null"`
	// Metrics are the training and held-out metrics (churn.Evaluation as JSON).
	Metrics   string `gorm:"type:text;not null"`
	TrainedOn string `gorm:"size:200;not null"` // what it was trained on, e.g. "synthetic seed=16 traders=6000"
	CreatedAt time.Time
}

// ChurnScore is a trader's newest churn score (one row per trader,
// replaced by every churn-scoring run).
type ChurnScore struct {
	UserID       string  `gorm:"primaryKey;size:36"`
	ModelVersion int64   `gorm:"not null"`
	Score        float64 `gorm:"not null"` // probability of churning within 30 days, 0..1
	HighRisk     bool    `gorm:"not null"`
	Paying       bool    `gorm:"not null"`
	Plan         string  `gorm:"size:16;not null"`
	Reasons      string  `gorm:"type:text;not null"` // []churn.Reason as JSON, largest contribution first
	Features     string  `gorm:"type:text;not null"` // churn.Activity summary as JSON
	ScoredAt     time.Time
}

// ChurnAlert is a high-risk paying trader shown to admins (and mailed to
// them once); at most one open alert per trader. It closes when a later
// run scores the trader below the alert threshold.
type ChurnAlert struct {
	ID           string  `gorm:"primaryKey;size:36"`
	UserID       string  `gorm:"size:36;not null"`
	ModelVersion int64   `gorm:"not null"`
	Score        float64 `gorm:"not null"`
	Reasons      string  `gorm:"type:text;not null"`
	RaisedAt     time.Time
	ClosedAt     *time.Time
}

// SupportContact is one contact support staff had with a trader
// (migration 0035).
type SupportContact struct {
	ID          string    `gorm:"primaryKey;size:36"`
	UserID      string    `gorm:"size:36;not null"`
	StaffID     string    `gorm:"size:36;not null"`
	Channel     string    `gorm:"size:16;not null"`
	Summary     string    `gorm:"type:text;not null"`
	ContactedAt time.Time `gorm:"not null"`
}

// TableName of SupportContact.
func (SupportContact) TableName() string { return "support_contacts" }
