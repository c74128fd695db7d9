package experiments

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/schema"
)

// UpgradePrompt is the experiment on the free plan's upgrade prompt
// (Settings → Billing), seeded by migration 0031. Exposure: the prompt was
// shown; conversion: a checkout completed (billing ledger).
const UpgradePrompt = "upgrade-prompt"

// Statuses of an experiment.
const (
	StatusRunning = "running"
	StatusStopped = "stopped"
)

// ErrUnknownExperiment: no experiment has the id.
var ErrUnknownExperiment = errors.New("experiments: unknown experiment")

// Variant is one arm of an experiment and its relative weight (> 0).
type Variant struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
}

// Experiment is an experiment as stored.
type Experiment struct {
	ID          string
	Name        string
	Description string
	Variants    []Variant // the first is the control
	Status      string
	CreatedAt   time.Time
}

// Assign is the variant of userID in an experiment: a SHA-256 of the
// experiment id and the user id, reduced modulo the total weight, picks
// the variant whose cumulative weight range holds it. The same user always
// gets the same variant (no stored assignment); different experiments
// split users independently. "" when no variant has a positive weight.
func Assign(experimentID, userID string, variants []Variant) string {
	total := 0
	for _, v := range variants {
		if v.Weight > 0 {
			total += v.Weight
		}
	}
	if total == 0 {
		return ""
	}
	h := sha256.Sum256([]byte(experimentID + "\x00" + userID))
	bucket := int(binary.BigEndian.Uint64(h[:8]) % uint64(total))
	for _, v := range variants {
		if v.Weight <= 0 {
			continue
		}
		if bucket < v.Weight {
			return v.Name
		}
		bucket -= v.Weight
	}
	return "" // unreachable
}

func fromRow(r schema.Experiment) (Experiment, error) {
	e := Experiment{ID: r.ID, Name: r.Name, Description: r.Description, Status: r.Status, CreatedAt: r.CreatedAt}
	if err := json.Unmarshal([]byte(r.Variants), &e.Variants); err != nil {
		return Experiment{}, fmt.Errorf("experiments: %s: variants: %w", r.ID, err)
	}
	if len(e.Variants) == 0 {
		return Experiment{}, fmt.Errorf("experiments: %s has no variants", r.ID)
	}
	return e, nil
}

// Get loads one experiment.
func Get(ctx context.Context, db *gorm.DB, id string) (Experiment, error) {
	var r schema.Experiment
	err := db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Experiment{}, ErrUnknownExperiment
	}
	if err != nil {
		return Experiment{}, err
	}
	return fromRow(r)
}

// Expose records that userID was shown the experiment's surface and returns
// the variant to show. The first exposure is stored with its variant and
// later calls return that stored variant (a user keeps what they saw even
// if the weights change). A stopped experiment shows the control and
// records nothing.
func Expose(ctx context.Context, db *gorm.DB, experimentID, userID string, now time.Time) (string, error) {
	e, err := Get(ctx, db, experimentID)
	if err != nil {
		return "", err
	}
	if e.Status != StatusRunning {
		return e.Variants[0].Name, nil
	}
	v := Assign(e.ID, userID, e.Variants)
	if v == "" {
		return e.Variants[0].Name, nil
	}
	db = db.WithContext(ctx)
	row := schema.ExperimentExposure{ExperimentID: e.ID, UserID: userID, Variant: v, ExposedAt: now.UTC()}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return "", err
	}
	var stored schema.ExperimentExposure
	if err := db.Where("experiment_id = ? AND user_id = ?", e.ID, userID).Take(&stored).Error; err != nil {
		return "", err
	}
	return stored.Variant, nil
}

// Convert records, inside the caller's transaction tx, the first
// conversion of userID in a running experiment, credited to the variant
// the user was exposed to. A user never exposed (or already converted)
// records nothing: conversions without exposure would bias the test.
func Convert(tx *gorm.DB, experimentID, userID string, now time.Time) error {
	var e schema.Experiment
	err := tx.Where("id = ?", experimentID).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrUnknownExperiment
	}
	if err != nil || e.Status != StatusRunning {
		return err
	}
	var exp []schema.ExperimentExposure
	if err := tx.Where("experiment_id = ? AND user_id = ?", experimentID, userID).Limit(1).Find(&exp).Error; err != nil {
		return err
	}
	if len(exp) == 0 {
		return nil
	}
	row := schema.ExperimentConversion{ExperimentID: experimentID, UserID: userID, Variant: exp[0].Variant, ConvertedAt: now.UTC()}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error
}
