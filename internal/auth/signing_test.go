package auth

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/schema"
)

// TestSigningKeysLifecycle: the key-rotation workflow's JWT steps run in
// the worker (SigningKeys) while the API (Service) signs and verifies.
// Tokens of the previous key verify until its retirement time, then stop;
// retirement deletes only keys past it; revoked sessions are refused.
func TestSigningKeysLifecycle(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		sk, err := NewSigningKeys(SigningKeysConfig{DB: db, Secret: f.cfg.Secret, Now: f.clock.Now})
		require.NoError(t, err)
		require.Equal(t, DefaultAccessTTL+DefaultLeeway+keyReloadEvery, sk.VerifyAfter)

		old := f.register("ann@example.com")
		oldClaims, err := f.svc.Verify(ctx, old.AccessToken)
		require.NoError(t, err)

		f.clock.Advance(time.Second) // the rotation starts after the key was made
		since := f.clock.Now()
		rot, err := sk.Rotate(ctx, since, "test")
		require.NoError(t, err)
		require.True(t, rot.Created)
		require.NotEqual(t, oldClaims.KeyID, rot.KID)
		require.Equal(t, since.Add(sk.VerifyAfter), rot.RetireAt)
		again, err := sk.Rotate(ctx, since, "test")
		require.NoError(t, err)
		require.Equal(t, rot.KID, again.KID, "a retried rotation creates no second key")
		require.False(t, again.Created)

		// Another API replica (started after the rotation) signs with the new key.
		replica, err := New(ctx, Config{DB: db, Secret: f.cfg.Secret, Now: f.clock.Now, Password: testParams})
		require.NoError(t, err)
		fresh, err := replica.Login(ctx, "ann@example.com", goodPassword, browser)
		require.NoError(t, err)
		freshClaims, err := replica.Verify(ctx, fresh.AccessToken)
		require.NoError(t, err)
		require.Equal(t, rot.KID, freshClaims.KeyID)

		// Until the retirement time, the previous key's tokens verify and
		// nothing retires. A token of the old key issued just before the
		// rotation expires within the window.
		f.clock.Advance(sk.VerifyAfter - 2*time.Minute)
		require.NoError(t, replica.keys.reload(ctx))
		kids, err := sk.RetireExpired(ctx, "test")
		require.NoError(t, err)
		require.Empty(t, kids)
		_, ok := replica.keys.lookup(ctx, oldClaims.KeyID)
		require.True(t, ok, "the previous key verifies until its retirement time")

		f.clock.Advance(2*time.Minute + time.Second)
		kids, err = sk.RetireExpired(ctx, "test")
		require.NoError(t, err)
		require.Equal(t, []string{oldClaims.KeyID}, kids)
		require.NoError(t, replica.keys.reload(ctx))
		_, ok = replica.keys.lookup(ctx, oldClaims.KeyID)
		require.False(t, ok, "retired")
		var n int64
		require.NoError(t, db.Model(&schema.SigningKey{}).Count(&n).Error)
		require.EqualValues(t, 1, n, "the new key stays")

		// Revoked sessions are refused, whatever key signed their token.
		f.clock.Advance(-time.Hour) // back inside fresh's lifetime
		_, err = replica.Verify(ctx, fresh.AccessToken)
		require.NoError(t, err)
		ended, err := replica.RevokeUserSessions(ctx, freshClaims.UserID, "", ReasonRevoked, Client{})
		require.NoError(t, err)
		require.GreaterOrEqual(t, ended, 1)
		_, err = replica.Verify(ctx, fresh.AccessToken)
		require.Error(t, err)

		// A compromised key: revoked at once.
		require.NoError(t, sk.Revoke(ctx, rot.KID, "test"))
		require.ErrorIs(t, sk.Revoke(ctx, "00000000000000000000000000000000", "test"), ErrUnknownSigningKey)
		infos, err := sk.List(ctx)
		require.NoError(t, err)
		require.Equal(t, KeyRevoked, infos[0].State)

		for _, action := range []string{audit.ActionSigningKeyRotated, audit.ActionSigningKeyRetired, audit.ActionSigningKeyRevoked} {
			rows, err := audit.List(ctx, db, audit.Filter{UserID: audit.SystemUserID, Action: action})
			require.NoError(t, err)
			require.Len(t, rows, 1, action)
		}
	})
}
