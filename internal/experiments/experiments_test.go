package experiments

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

func TestAssign(t *testing.T) {
	even := []Variant{{"control", 50}, {"b", 50}}
	for _, tc := range []struct {
		name     string
		variants []Variant
		want     map[string]float64 // share of 20,000 users, ±2 points
	}{
		{"even split", even, map[string]float64{"control": 0.5, "b": 0.5}},
		{"weighted 1:3", []Variant{{"control", 1}, {"b", 3}}, map[string]float64{"control": 0.25, "b": 0.75}},
		{"three arms", []Variant{{"control", 2}, {"b", 1}, {"c", 1}}, map[string]float64{"control": 0.5, "b": 0.25, "c": 0.25}},
		{"zero weight never assigned", []Variant{{"control", 1}, {"off", 0}}, map[string]float64{"control": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 20000
			got := map[string]int{}
			for i := range n {
				got[Assign("exp", fmt.Sprintf("user-%d", i), tc.variants)]++
			}
			for name, share := range tc.want {
				require.InDelta(t, share, float64(got[name])/n, 0.02, name)
			}
			require.Len(t, got, len(tc.want))
		})
	}
	// Deterministic per user, independent across experiments.
	require.Equal(t, Assign("exp", "u1", even), Assign("exp", "u1", even))
	same := 0
	for i := range 1000 {
		u := fmt.Sprintf("user-%d", i)
		if Assign("exp-a", u, even) == Assign("exp-b", u, even) {
			same++
		}
	}
	require.InDelta(t, 500, same, 80)
	require.Equal(t, "", Assign("exp", "u1", nil))
}

func user(t *testing.T, db *gorm.DB) string {
	t.Helper()
	id := uuid.NewString()
	require.NoError(t, db.Create(&schema.User{ID: id, DisplayName: "T", SubscriptionStatus: "active", CreatedAt: time.Now().UTC()}).Error)
	return id
}

// Exposure is stored once with the assigned variant; only an exposed
// user's first conversion counts, credited to the variant seen; the report
// counts per variant and tests against the control.
func TestExposeConvertReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		e, err := Get(ctx, db, UpgradePrompt)
		require.NoError(t, err)
		require.Equal(t, StatusRunning, e.Status)
		require.Equal(t, []Variant{{"control", 50}, {"missed-trades", 50}}, e.Variants)

		counts := map[string][2]int64{}
		for i := range 40 {
			u := user(t, db)
			v, err := Expose(ctx, db, UpgradePrompt, u, now)
			require.NoError(t, err)
			require.Equal(t, Assign(UpgradePrompt, u, e.Variants), v)
			again, err := Expose(ctx, db, UpgradePrompt, u, now.Add(time.Hour))
			require.NoError(t, err)
			require.Equal(t, v, again)
			c := counts[v]
			c[0]++
			if i%3 == 0 {
				for range 2 { // a second conversion counts once
					require.NoError(t, Convert(db, UpgradePrompt, u, now))
				}
				c[1]++
			}
			counts[v] = c
		}
		// Never exposed: no conversion.
		require.NoError(t, Convert(db, UpgradePrompt, user(t, db), now))
		_, err = Expose(ctx, db, "nope", user(t, db), now)
		require.ErrorIs(t, err, ErrUnknownExperiment)
		require.ErrorIs(t, Convert(db, "nope", user(t, db), now), ErrUnknownExperiment)

		rep, err := Report(ctx, db)
		require.NoError(t, err)
		require.Len(t, rep, 1)
		require.Len(t, rep[0].Variants, 2)
		for _, v := range rep[0].Variants {
			require.Equal(t, counts[v.Name][0], v.Exposures, v.Name)
			require.Equal(t, counts[v.Name][1], v.Conversions, v.Name)
		}
		ctl, b := rep[0].Variants[0], rep[0].Variants[1]
		require.True(t, ctl.Control)
		z := ZTest(ctl.Conversions, ctl.Exposures, b.Conversions, b.Exposures)
		require.Equal(t, z.PValue, b.PValue)
		require.Equal(t, z.Z, b.Z)

		// Stopped: the control is shown and nothing more is recorded.
		require.NoError(t, db.Model(&schema.Experiment{}).Where("id = ?", UpgradePrompt).Update("status", StatusStopped).Error)
		u := user(t, db)
		v, err := Expose(ctx, db, UpgradePrompt, u, now)
		require.NoError(t, err)
		require.Equal(t, "control", v)
		var n int64
		require.NoError(t, db.Model(&schema.ExperimentExposure{}).Where("user_id = ?", u).Count(&n).Error)
		require.Zero(t, n)
	})
}
