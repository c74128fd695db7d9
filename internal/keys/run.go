package keys

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// DefaultPageSize is how many rows a re-encryption page moves.
const DefaultPageSize = 100

// Report is the outcome of a whole rotation (RunInProcess, and the
// workflow's result).
type Report struct {
	Vault       VaultGeneration `json:"vault"`
	Reencrypted PageResult      `json:"reencrypted"`
	Retired     VaultRetirement `json:"retired"`
	// SigningKID is the new JWT signing key ("" when this process has no
	// JWT_SECRET: SigningSkipped says why).
	SigningKID     string   `json:"signingKid,omitempty"`
	SigningSkipped string   `json:"signingSkipped,omitempty"`
	SigningRetired []string `json:"signingRetired,omitempty"`
}

// RunInProcess runs one rotation in this process, the same steps as the
// key-rotation workflow, for `tradeexec keys rotate` without Temporal. It
// waits until settle has passed since the new version became current
// before retiring (SettleTime; 0 in tests with one process). It does not
// wait for the previous signing key's tokens to expire: that key is
// retired by the next rotation or by the API's hourly purge.
func (r *Rotator) RunInProcess(ctx context.Context, pageSize int, settle time.Duration, by string) (Report, error) {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	var rep Report
	since := time.Now().UTC()
	if rot, err := r.RotateSigningKey(ctx, since, by); errors.Is(err, ErrNoSigningKeys) {
		rep.SigningSkipped = err.Error()
	} else if err != nil {
		return rep, err
	} else {
		rep.SigningKID = rot.KID
	}
	gen, err := r.GenerateVaultKey(ctx, 0, by)
	if err != nil {
		return rep, err
	}
	rep.Vault = gen
	for ti := range Tables {
		after := ""
		for {
			p, err := r.ReencryptPage(ctx, PageRequest{Table: ti, AfterID: after, Limit: pageSize, Target: gen.Target}, nil)
			if err != nil {
				return rep, err
			}
			rep.Reencrypted = rep.Reencrypted.Sum(p)
			if p.Done {
				break
			}
			after = p.LastID
		}
	}
	if err := r.RecordReencryption(ctx, gen.Target, rep.Reencrypted, by); err != nil {
		return rep, err
	}
	if wait := time.Until(gen.At.Add(settle)); wait > 0 {
		r.log().Info("waiting for every process to load the new vault key version before retiring older ones",
			zap.Int("version", gen.Target), zap.Duration("wait", wait))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return rep, ctx.Err()
		case <-t.C:
		}
	}
	if rep.Retired, err = r.RetireVaultKeys(ctx, gen.Target, by); err != nil {
		return rep, err
	}
	if r.Signing != nil {
		if rep.SigningRetired, err = r.RetireSigningKeys(ctx, by); err != nil {
			return rep, err
		}
	}
	return rep, nil
}
