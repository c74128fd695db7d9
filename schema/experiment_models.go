package schema

import "time"

// Experiment is one A/B test (internal/experiments). Variants is a JSON
// array of {"name","weight"}; Status is running or stopped.
type Experiment struct {
	ID          string `gorm:"primaryKey;size:64"`
	Name        string `gorm:"size:120;not null"`
	Description string `gorm:"type:text;not null"`
	Variants    string `gorm:"type:text;not null"`
	Status      string `gorm:"size:16;not null"`
	CreatedAt   time.Time
}

// ExperimentExposure is the first time a user was shown an experiment's
// surface, with the variant shown.
type ExperimentExposure struct {
	ExperimentID string `gorm:"primaryKey;size:64"`
	UserID       string `gorm:"primaryKey;size:36"`
	Variant      string `gorm:"size:32;not null"`
	ExposedAt    time.Time
}

// ExperimentConversion is the first conversion of an exposed user.
type ExperimentConversion struct {
	ExperimentID string `gorm:"primaryKey;size:64"`
	UserID       string `gorm:"primaryKey;size:36"`
	Variant      string `gorm:"size:32;not null"`
	ConvertedAt  time.Time
}
