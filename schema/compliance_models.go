package schema

import "time"

// ComplianceReport is the monthly compliance report (FR-060), one per
// calendar month (Period "2026-11", UTC), written once by the
// compliance-report schedule. Summary is the report's figures as JSON;
// HTML and CSV are the documents as served, with their SHA-256.
type ComplianceReport struct {
	ID             string    `gorm:"primaryKey;size:36"`
	Period         string    `gorm:"size:7;not null;uniqueIndex:ux_compliance_reports_period"`
	PeriodStart    time.Time `gorm:"not null"`
	PeriodEnd      time.Time `gorm:"not null"`
	GeneratedAt    time.Time `gorm:"not null"`
	TotalEntries   int64     `gorm:"not null"`
	FailedLogins   int64     `gorm:"not null"`
	SecurityAlerts int64     `gorm:"not null"`
	ChainsChecked  int64     `gorm:"not null"`
	ChainsFailed   int64     `gorm:"not null"`
	Summary        string    `gorm:"type:text;not null"`
	HTML           string    `gorm:"column:html;type:text;not null"`
	CSV            string    `gorm:"column:csv;type:text;not null"`
	SHA256HTML     string    `gorm:"column:sha256_html;size:64;not null"`
	SHA256CSV      string    `gorm:"column:sha256_csv;size:64;not null"`
}
