package experiments

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/schema"
)

// StatusDraft: created by an administrator, not started: it shows the
// control and records nothing, like a stopped one.
const StatusDraft = "draft"

// Audit actions of the administrators' experiment management.
const (
	ActionExperimentCreated = "EXPERIMENT_CREATED"
	ActionExperimentStarted = "EXPERIMENT_STARTED"
	ActionExperimentStopped = "EXPERIMENT_STOPPED"
)

// ValidationError names the field of a new experiment that is not valid.
type ValidationError struct{ Field, Message string }

func (e *ValidationError) Error() string { return "experiments: " + e.Field + ": " + e.Message }

// ErrExists: an experiment already has the id.
var ErrExists = errors.New("experiments: an experiment with this id exists")

// ErrBadTransition: start only a draft or stopped experiment, stop only a
// running one.
var ErrBadTransition = errors.New("experiments: status change not allowed")

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$`)

// NewExperiment is an administrator's request to create an experiment.
type NewExperiment struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Variants    []Variant `json:"variants"` // the first is the control
}

// Validate checks the request: id 3–64 of a-z, 0-9 and '-', a name of
// 1–120 characters, 2–10 variants with distinct names of 1–32 characters
// and weights 1–1000.
func (n NewExperiment) Validate() error {
	if !idPattern.MatchString(n.ID) {
		return &ValidationError{"id", "id must be 3 to 64 lower-case letters, digits or '-'."}
	}
	if name := strings.TrimSpace(n.Name); name == "" || len(name) > 120 {
		return &ValidationError{"name", "name must be 1 to 120 characters."}
	}
	if len(n.Description) > 2000 {
		return &ValidationError{"description", "description must be at most 2000 characters."}
	}
	if len(n.Variants) < 2 || len(n.Variants) > 10 {
		return &ValidationError{"variants", "an experiment needs 2 to 10 variants (the first is the control)."}
	}
	seen := map[string]bool{}
	for _, v := range n.Variants {
		if v.Name == "" || len(v.Name) > 32 || strings.TrimSpace(v.Name) != v.Name {
			return &ValidationError{"variants", "each variant needs a name of 1 to 32 characters."}
		}
		if seen[v.Name] {
			return &ValidationError{"variants", fmt.Sprintf("variant %q is listed twice.", v.Name)}
		}
		seen[v.Name] = true
		if v.Weight < 1 || v.Weight > 1000 {
			return &ValidationError{"variants", fmt.Sprintf("variant %q needs a weight from 1 to 1000.", v.Name)}
		}
	}
	return nil
}

// Create stores a new experiment as a draft and audits it, in tx.
func Create(tx *gorm.DB, n NewExperiment, actor string, now time.Time) error {
	if err := n.Validate(); err != nil {
		return err
	}
	vs, err := json.Marshal(n.Variants)
	if err != nil {
		return err
	}
	row := schema.Experiment{ID: n.ID, Name: strings.TrimSpace(n.Name), Description: n.Description, Variants: string(vs),
		Status: StatusDraft, CreatedAt: now.UTC()}
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrExists
	}
	_, err = audit.Append(tx, audit.Entry{UserID: actor, Action: ActionExperimentCreated, ResourceType: "Experiment",
		ResourceID: n.ID, Details: map[string]any{"name": row.Name, "variants": n.Variants}})
	return err
}

// SetStatus starts (draft or stopped → running) or stops (running →
// stopped) an experiment and audits the change, in tx. Exposures and
// conversions recorded so far are kept.
func SetStatus(tx *gorm.DB, id, status, actor string) error {
	var from []string
	action := ActionExperimentStarted
	switch status {
	case StatusRunning:
		from = []string{StatusDraft, StatusStopped}
	case StatusStopped:
		from, action = []string{StatusRunning}, ActionExperimentStopped
	default:
		return ErrBadTransition
	}
	var row schema.Experiment
	if err := tx.Where("id = ?", id).Take(&row).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrUnknownExperiment
	} else if err != nil {
		return err
	}
	res := tx.Model(&schema.Experiment{}).Where("id = ? AND status IN ?", id, from).Update("status", status)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrBadTransition
	}
	_, err := audit.Append(tx, audit.Entry{UserID: actor, Action: action, ResourceType: "Experiment", ResourceID: id,
		Details: map[string]any{"from": row.Status, "to": status}})
	return err
}
